"""Roles by least privilege, enforced on the server for every path to the screening answers."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from appointments.models import AuditEvent, ConsultationRequest
from appointments.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK, ROLES
from appointments.services import staff_note_create
from tests.factories import log_in_verified, make_request, make_staff

from .conftest import LIST_URL, SCREENING_MARKERS, admin_form_data, change_url

pytestmark = pytest.mark.django_db

EXPORT_URL = LIST_URL + "export/"
MEDICATION = SCREENING_MARKERS["current_medications"]
# Answers only clinicians may see, each distinctive enough to search a page for.
SCREENING = {
    "current_medications": MEDICATION,
    "medical_history_other": SCREENING_MARKERS["medical_history_other"],
    "treatments_other": SCREENING_MARKERS["treatments_other"],
    "concern_other": SCREENING_MARKERS["concern_other"],
}
SCREENING_LABELS = [
    "Current medications",
    "Clinician flags",
    "PHQ-9",
    "Wants help with",
    "Treatments tried",
    "History of psychosis",
]


@pytest.fixture
def screened_request(db):
    return make_request(
        concern="other",
        psychosis_history=True,
        flags=["psychosis", "phq9_severe"],
        **SCREENING,
        **{f"phq9_{n}": 3 for n in range(1, 9)},
        phq9_9=0,
    )


def test_the_command_creates_three_groups_and_is_safe_to_repeat():
    out = io.StringIO()
    call_command("create_staff_groups", stdout=out)
    assert "Created group “Front desk”" in out.getvalue()
    group = Group.objects.get(name=FRONT_DESK)
    group.permissions.clear()
    out = io.StringIO()
    call_command("create_staff_groups", stdout=out)
    assert "Updated group “Front desk”" in out.getvalue()
    for name, permissions in ROLES.items():
        group = Group.objects.get(name=name)
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }
        assert granted == set(permissions)
    assert Group.objects.count() == 3


def test_the_roles_nest_by_least_privilege():
    front_desk, clinician, clinic_admin = (set(ROLES[name]) for name in [FRONT_DESK, CLINICIAN, CLINIC_ADMIN])
    assert front_desk < clinician < clinic_admin
    assert "appointments.view_screening_answers" not in front_desk
    assert "appointments.view_screening_answers" in clinician
    assert "appointments.export_consultationrequest" not in clinician
    assert {
        "appointments.export_consultationrequest",
        "appointments.view_auditevent",
        "auth.change_user",
    } <= clinic_admin
    assert "education.change_article" in clinic_admin and "education.change_article" not in clinician
    # Nobody, not even a clinic admin, may be given the right to edit the audit trail.
    assert not any(p.endswith("_auditevent") and not p.endswith("view_auditevent") for p in clinic_admin)


def test_front_desk_page_shows_contact_and_status_but_no_screening_answers(
    client, login_as, screened_request
):
    login_as("front_desk")
    response = client.get(change_url(screened_request))
    assert response.status_code == 200
    html = response.content.decode()
    assert screened_request.first_name in html and screened_request.email in html
    assert "Call the patient" in html and "Work on this request" in html and "Book the consultation" in html
    for marker in SCREENING.values():
        assert marker not in html
    for label in SCREENING_LABELS:
        assert label not in html
    assert "Only clinicians may read this note" not in html


def test_clinician_page_shows_every_answer_and_the_flags(client, login_as, screened_request):
    login_as("clinician")
    html = client.get(change_url(screened_request)).content.decode()
    for marker in SCREENING.values():
        assert marker in html
    for label in SCREENING_LABELS:
        assert label in html
    assert "<strong>24</strong> / 27 · Severe" in html


def test_front_desk_list_has_no_flag_column_and_no_screening_filters(client, login_as, screened_request):
    login_as("front_desk")
    html = client.get(LIST_URL).content.decode()
    assert screened_request.reference in html
    assert "Psychosis" not in html and "flag_list" not in html
    for title in ["By clinician flag", "By PHQ-9 band", "By wants help with"]:
        assert title not in html


def test_clinician_list_shows_flags_and_screening_filters(client, login_as, screened_request):
    login_as("clinician")
    html = client.get(LIST_URL).content.decode()
    assert "Psychosis" in html and "PHQ-9 severe" in html
    for title in ["By clinician flag", "By PHQ-9 band", "By wants help with"]:
        assert title in html


def test_front_desk_search_does_not_look_in_screening_answers(client, login_as, screened_request):
    login_as("front_desk")
    html = client.get(LIST_URL, {"q": MEDICATION.split("-")[0]}).content.decode()
    assert screened_request.reference not in html
    assert "0 consultation requests" in html or "0 results" in html


def test_clinician_search_finds_a_medication(client, login_as, screened_request):
    login_as("clinician")
    make_request(current_medications="sertraline")
    html = client.get(LIST_URL, {"q": MEDICATION.split("-")[0]}).content.decode()
    assert screened_request.reference in html
    assert html.count("KC-") >= 1


@pytest.mark.parametrize(
    "query",
    [
        "flags__contains=psychosis",
        "flags__contains=%7Bpsychosis%7D",
        "phq9_score__gte=20",
        "phq9_score__isnull=False",
        "current_medications__icontains=lamotrigine",
        "psychosis_history__exact=1",
        "self_harm_thoughts=1",
        "concern__exact=other",
        "flag=psychosis",
        "phq9=severe",
        "assigned_to__username=clinician",
        "email__startswith=m",
    ],
)
def test_front_desk_cannot_filter_by_screening_answers_in_the_query_string(
    client, login_as, screened_request, query
):
    login_as("front_desk")
    response = client.get(f"{LIST_URL}?{query}")
    # Refused outright (400), or sent to the admin's "invalid filter" page; never a filtered list.
    assert response.status_code in {400, 302}
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")
    assert screened_request.reference not in response.content.decode()


@pytest.mark.parametrize("query", ["flag=psychosis", "phq9=severe", "concern__exact=other"])
def test_clinician_filters_by_flag_band_and_concern(client, login_as, screened_request, query):
    login_as("clinician")
    other = make_request(concern="depression")
    html = client.get(f"{LIST_URL}?{query}").content.decode()
    assert screened_request.reference in html
    assert other.reference not in html


def test_clinician_cannot_use_lookups_beyond_the_filters_either(client, login_as, screened_request):
    login_as("clinician")
    assert client.get(f"{LIST_URL}?email__startswith=m").status_code == 400


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_only_clinic_admins_export(client, login_as, screened_request, role):
    login_as(role)
    assert client.get(EXPORT_URL).status_code == 403
    assert "Export these requests" not in client.get(LIST_URL).content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_clinic_admin_exports_the_filtered_list_and_each_request_is_audited(
    client, login_as, screened_request
):
    user = login_as("clinic_admin")
    urgent = make_request(is_urgent=True, self_harm_thoughts=True, first_name="=HYPERLINK(1)")
    list_html = client.get(LIST_URL + "?is_urgent__exact=1").content.decode()
    assert "Export these requests (CSV)" in list_html
    assert "export/?is_urgent__exact=1" in list_html
    response = client.get(EXPORT_URL + "?is_urgent__exact=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="consultation-requests-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["Reference"] for row in rows] == [urgent.reference]
    # A spreadsheet would run a cell that starts with "=" as a formula.
    assert rows[0]["First name"] == "'=HYPERLINK(1)"
    assert rows[0]["Phone"].startswith("'+1")
    assert "Current medications" in rows[0]
    event = AuditEvent.objects.get(action="export")
    assert (event.actor, event.consultation_request, event.reference) == (user, urgent, urgent.reference)
    assert event.description == "Exported as CSV, screening answers included"


def test_export_follows_search_too(client, login_as, screened_request):
    login_as("clinic_admin")
    make_request(last_name="Someone-Else")
    response = client.get(EXPORT_URL, {"q": screened_request.reference})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["Reference"] for row in rows] == [screened_request.reference]
    assert rows[0]["Current medications"] == MEDICATION


def test_an_exporter_without_screening_access_exports_contact_columns_only(
    client, login_as, screened_request
):
    user = login_as("front_desk")
    user.user_permissions.add(Permission.objects.get(codename="export_consultationrequest"))
    response = client.get(EXPORT_URL)
    text = b"".join(response.streaming_content).decode()
    assert screened_request.reference in text
    for marker in SCREENING.values():
        assert marker not in text
    assert "Current medications" not in text and "PHQ-9" not in text


def test_clinicians_only_notes_are_hidden_from_the_front_desk(client, login_as, screened_request):
    clinician = make_staff("clinician", username="drsam")
    staff_note_create(
        consultation_request=screened_request, author=clinician, text="Team note: call after 2pm."
    )
    staff_note_create(
        consultation_request=screened_request,
        author=clinician,
        text="Clinical: lithium level pending.",
        clinicians_only=True,
    )
    login_as("front_desk")
    html = client.get(change_url(screened_request)).content.decode()
    assert "Team note: call after 2pm." in html
    assert "lithium level pending" not in html


def test_front_desks_history_page_shows_no_trace_of_a_clinicians_only_note(
    client, login_as, screened_request
):
    login_as("clinician")
    client.post(
        change_url(screened_request),
        admin_form_data(screened_request, new_note="lithium level pending", note_clinicians_only="on"),
    )
    assert screened_request.notes.get().clinicians_only is True
    client.logout()
    login_as("front_desk")
    response = client.get(f"/admin/appointments/consultationrequest/{screened_request.pk}/history/")
    assert response.status_code == 200
    html = response.content.decode().lower()
    assert "changed" in html
    assert "clinicians" not in html
    assert "new note" not in html


def test_a_front_desk_note_cannot_be_made_clinicians_only(client, login_as, screened_request):
    login_as("front_desk")
    client.post(
        change_url(screened_request),
        admin_form_data(screened_request, new_note="Spoke to her", note_clinicians_only="on"),
    )
    note = screened_request.notes.get()
    assert note.clinicians_only is False


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        ("front_desk", "/admin/appointments/auditevent/", 403),
        ("clinician", "/admin/appointments/auditevent/", 403),
        ("clinic_admin", "/admin/appointments/auditevent/", 200),
        ("front_desk", "/admin/appointments/outboundemail/", 403),
        ("clinic_admin", "/admin/appointments/outboundemail/", 200),
        ("front_desk", "/admin/education/article/", 403),
        ("clinician", "/admin/education/article/", 403),
        ("clinic_admin", "/admin/education/article/", 200),
        ("front_desk", "/admin/auth/user/", 403),
        ("clinic_admin", "/admin/auth/user/", 200),
    ],
)
def test_each_role_reaches_only_its_own_sections(client, login_as, role, url, status):
    login_as(role)
    assert client.get(url).status_code == status


def test_a_staff_login_without_a_role_sees_no_requests(client, db, django_user_model):
    user = django_user_model.objects.create_user(
        "newstarter", "n@clinic.example", "a long passphrase", is_staff=True
    )
    log_in_verified(client, user)
    request = make_request()
    assert client.get(LIST_URL).status_code == 403
    assert client.get(change_url(request)).status_code == 403
    assert "Consultation requests" not in client.get("/admin/").content.decode()


def test_front_desk_changes_status_and_notes_but_never_answers(client, login_as, screened_request):
    login_as("front_desk")
    data = admin_form_data(
        screened_request, status="contacted", current_medications="changed", first_name="Changed"
    )
    response = client.post(change_url(screened_request), data)
    assert response.status_code == 302
    screened_request.refresh_from_db()
    assert screened_request.status == ConsultationRequest.Status.CONTACTED
    assert screened_request.current_medications == MEDICATION
    assert screened_request.first_name != "Changed"


def test_only_clinicians_and_clinic_admins_record_a_clinical_decision():
    assert "appointments.record_clinical_decision" not in ROLES[FRONT_DESK]
    assert "appointments.record_clinical_decision" in ROLES[CLINICIAN]

"""The request list and a request's page in the staff workspace: columns, order, filters, search,
bulk actions, notes, assignment, and query counts that do not grow with the number of requests."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import AuditEvent, ConsultationRequest, OutboundEmail, StaffNote, StatusChange
from tests.factories import booking_answers, make_request, make_requests, make_staff
from tests.outbox import render_pending

from .conftest import LIST_URL, admin_form_data, change_url

pytestmark = pytest.mark.django_db

Status = ConsultationRequest.Status
# The most queries any staff list page may make, whatever the number of rows (the request list's
# include the insert of its audit record).
LIST_MAX_QUERIES = 13


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    settings.CONSULTATION_EMAIL_RATE_LIMIT = settings.CONSULTATION_PHONE_RATE_LIMIT = "1000/m"


def references_in(html):
    """The references on a page, in order, each once (a row also names its reference in labels)."""
    return list(dict.fromkeys(re.findall(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", html)))


def queries_for(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("role", ["front_desk", "clinician", "clinic_admin"])
def test_list_page_makes_as_many_queries_for_200_requests_as_for_one(
    client, login_as, django_assert_max_num_queries, role
):
    user = login_as(role)
    make_request(assigned_to=user, flags=["mania"])
    client.get(LIST_URL)  # the first page view fills per-process caches (content types)
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        one = queries_for(client, LIST_URL)
    make_requests(199, assigned_to=user, flags=["psychosis", "pregnancy"])
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        many = queries_for(client, LIST_URL)
    assert one == many
    assert len(set(references_in(client.get(LIST_URL).content.decode()))) == 50  # one page


@pytest.mark.parametrize("count", [1, 20])
def test_request_list_query_count_does_not_grow(staff_client, submit, django_assert_max_num_queries, count):
    for _ in range(count):
        submit(booking_answers())
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = staff_client.get(LIST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert all(
        reference in html for reference in ConsultationRequest.objects.values_list("reference", flat=True)
    )


@pytest.mark.parametrize("count", [1, 20])
def test_outbox_list_query_count_does_not_grow_and_hides_addresses(
    staff_client, submit, django_assert_max_num_queries, count
):
    for _ in range(count):
        submit(booking_answers())
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = staff_client.get("/admin/appointments/outboundemail/")
    assert response.status_code == 200
    assert "maria@example.com" not in response.content.decode()
    assert OutboundEmail.objects.count() == 2 * count


@pytest.mark.parametrize("count", [1, 200])
def test_audit_trail_list_query_count_does_not_grow(client, login_as, django_assert_max_num_queries, count):
    login_as("clinic_admin")
    consultation_request = make_request()
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor_label="someone",
            action="view",
            consultation_request=consultation_request,
            reference=consultation_request.reference,
            description="Opened the request",
        )
        for _ in range(count)
    )
    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = client.get("/admin/appointments/auditevent/")
    assert response.status_code == 200
    assert consultation_request.reference in response.content.decode()


def test_the_staff_alert_link_opens_the_request(staff_client, submit):
    submit(booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    render_pending()
    alert = OutboundEmail.objects.get(dedupe_key__endswith="staff-alert")
    path = alert.body.split("http://127.0.0.1:8000", 1)[1].split()[0]
    response = staff_client.get(path)
    assert response.status_code == 200
    assert consultation_request.reference in response.content.decode()


def test_list_shows_urgent_first_then_newest_with_the_columns_staff_work_from(client, login_as):
    user = login_as("front_desk", first_name="Dana", last_name="Reyes")
    now = timezone.now()
    old_routine = make_request(created_at=now - datetime.timedelta(days=3), last_name="Oldroutine")
    new_routine = make_request(created_at=now - datetime.timedelta(hours=2), last_name="Newroutine")
    old_urgent = make_request(
        created_at=now - datetime.timedelta(days=5),
        is_urgent=True,
        self_harm_thoughts=True,
        flags=["self_harm"],
    )
    new_urgent = make_request(
        created_at=now - datetime.timedelta(days=1),
        is_urgent=True,
        self_harm_thoughts=True,
        assigned_to=user,
        contact_method="text",
        text_ok=True,
        phone="+12125550142",
    )
    html = client.get(LIST_URL).content.decode()
    order = [new_urgent, old_urgent, new_routine, old_routine]
    assert references_in(html) == [r.reference for r in order]
    for header in ["Reference", "Received", "Status", "Urgency", "Patient", "Contact by", "Assigned to"]:
        assert f">{header}<" in html or f">{header}</a>" in html
    row = html[html.index(new_urgent.reference) :].split("</tr>")[0]
    assert "1 day ago" in row
    assert "Urgent" in row and ">New<" in row
    assert "Text message" in row
    assert "(212) 555-0142" in row and 'href="tel:+12125550142"' in row
    assert "Dana Reyes" in row
    assert "Newroutine" in html


def test_filters_and_date_hierarchy_narrow_the_list(client, login_as):
    user = login_as("front_desk")
    mine = make_request(assigned_to=user, modality="in_person")
    contacted = make_request(status=Status.CONTACTED)
    declined = make_request(status=Status.DECLINED)
    urgent = make_request(is_urgent=True, self_harm_thoughts=True)
    last_year = make_request(created_at=timezone.now() - datetime.timedelta(days=400))

    def listed(query):
        response = client.get(LIST_URL + query)
        assert response.status_code == 200, query
        return set(references_in(response.content.decode()))

    open_requests = {r.reference for r in [mine, contacted, urgent, last_year]}
    assert listed("") == listed("?status=open") == open_requests
    assert listed("?status=all") == open_requests | {declined.reference}
    assert declined.reference in listed("?q=" + declined.reference)
    assert listed("?status=declined") == {declined.reference}
    assert listed("?is_urgent__exact=1") == {urgent.reference}
    assert listed("?assigned=me") == {mine.reference}
    assert listed("?modality__exact=in_person") == {mine.reference}
    year = timezone.localdate().year
    assert last_year.reference not in listed(f"?created_at__year={year}")
    html = client.get(LIST_URL).content.decode()
    for title in ["By status", "By urgent", "By assigned to", "By received", "By consultation"]:
        assert title in html
    assert 'class="xfull"' in html or "date-hierarchy" in html or "toplinks" in html


@pytest.mark.parametrize(
    "term",
    [
        "{reference}",
        "{reference_lower}",
        "Okonkwo",
        "OKONKWO-lind",
        "maria.o@example.com",
        "(212) 555-0188",
        "2125550188",
    ],
)
def test_search_finds_a_request_by_reference_name_email_and_phone(client, login_as, term):
    login_as("front_desk")
    wanted = make_request(last_name="Okonkwo-Lindqvist", email="maria.o@example.com", phone="+12125550188")
    other = make_request(last_name="Haddad", email="other@example.com", phone="+13105550100")
    query = term.format(reference=wanted.reference, reference_lower=wanted.reference.lower())
    html = client.get(LIST_URL, {"q": query}).content.decode()
    assert wanted.reference in html
    assert other.reference not in html


def _action(client, action, requests):
    # From the list of every status, where all of these requests are shown.
    return client.post(
        LIST_URL + "?status=all",
        {"action": action, "_selected_action": [r.pk for r in requests], "index": 0},
        follow=True,
    )


def test_bulk_actions_move_status_through_the_service_and_explain_refusals(client, login_as):
    user = login_as("front_desk")
    fresh = make_request()
    also_fresh = make_request()
    completed = make_request(status=Status.COMPLETED)
    response = _action(client, "mark_contacted", [fresh, also_fresh, completed])
    html = response.content.decode()
    assert "2 requests moved to “Contacted”." in html
    assert (
        f"{completed.reference}: A request that is “Completed” is closed: it cannot move to “Contacted”."
        in html
    )
    assert set(ConsultationRequest.objects.filter(status=Status.CONTACTED)) == {fresh, also_fresh}
    change = StatusChange.objects.get(consultation_request=fresh)
    assert (change.from_status, change.to_status, change.changed_by) == ("new", "contacted", user)
    assert AuditEvent.objects.filter(action="status", consultation_request=fresh, actor=user).exists()

    html = _action(client, "mark_contacted", [fresh]).content.decode()
    assert "1 request was already “Contacted”." in html
    html = _action(client, "mark_spam", [fresh]).content.decode()
    assert "It can move to: Scheduled, Declined, Cancelled by the patient, Cancelled by staff." in html


def test_every_common_move_has_a_bulk_action_and_nothing_can_be_deleted_in_bulk(client, login_as):
    login_as("front_desk")
    make_request()
    html = client.get(LIST_URL).content.decode()
    for label in [
        "Mark as contacted",
        "Mark as completed",
        "Mark as declined",
        "Mark as cancelled by staff",
        "Mark as spam",
        "Assign to me",
    ]:
        assert label in html
    assert "delete_selected" not in html


def test_assign_to_me_in_bulk(client, login_as):
    user = login_as("front_desk")
    requests = [make_request(), make_request()]
    html = _action(client, "assign_to_me", requests).content.decode()
    assert "2 requests assigned to you." in html
    assert set(ConsultationRequest.objects.values_list("assigned_to", flat=True)) == {user.pk}
    assert AuditEvent.objects.filter(action="change", description__startswith="Assigned to").count() == 2


def test_request_page_groups_answers_as_the_form_does_with_flags_first_for_clinicians(client, login_as):
    login_as("clinician")
    consultation_request = make_request(
        flags=["cardiovascular", "mania"],
        high_blood_pressure=True,
        episode="manic",
        source_article_slug="ketamine-for-bipolar-disorder",
        **{f"phq9_{n}": 2 for n in range(1, 9)},
        phq9_9=0,
    )
    html = client.get(change_url(consultation_request)).content.decode()
    texts = re.findall(r'<h2 id="[^"]+" class="fieldset-heading">(.*?)</h2>', html)
    # The clinician's job first: flags and scores, the clinical answers, the decision; then contact.
    assert texts == [
        "For the clinician",
        "Safety",
        "Treatments tried",
        "Medicines and health",
        "Current prescriber",
        "PHQ-9",
        "MDQ",
        "Clinical decision",
        "Call the patient",
        "Work on this request",
        "Book an open time",
        "Book the consultation",
        "Contact details",
        "Where and age",
        "Consultation",
        "Acknowledgement",
        "About the patient",
        "Payment, and how they found us",
        "Status history",
        "Record",
    ]
    summary = html[html.index("For the clinician") : html.index(">Safety<")]
    assert "High blood pressure, heart disease or stroke" in summary
    assert "Current manic, hypomanic or mixed episode" in summary
    assert "<strong>16</strong> / 27 · Moderately severe" in summary
    assert "/learn/ketamine-for-bipolar-disorder/" in summary
    # Read-only answers: no input for any of them.
    for name in ["first_name", "email", "current_medications", "phq9_1", "concern"]:
        assert f'name="{name}"' not in html


def test_notes_are_appended_with_author_and_time_and_never_editable(client, login_as):
    user = login_as("front_desk", first_name="Dana", last_name="Reyes")
    consultation_request = make_request()
    url = change_url(consultation_request)
    response = client.post(
        url, admin_form_data(consultation_request, new_note="Called, no answer.\nTry after 2pm.")
    )
    assert response.status_code == 302
    client.post(url, admin_form_data(consultation_request, new_note="Spoke to her."))
    notes = list(StaffNote.objects.filter(consultation_request=consultation_request))
    assert [note.text for note in notes] == ["Called, no answer.\nTry after 2pm.", "Spoke to her."]
    assert {note.author for note in notes} == {user}
    html = client.get(url).content.decode()
    thread = html[html.index('class="note-thread"') :]
    assert thread.index("Called, no answer.") < thread.index("Spoke to her.")
    assert "<p>Try after 2pm.</p>" in thread and "Dana Reyes" in thread
    assert 'name="text"' not in html and "note_set" not in html
    assert AuditEvent.objects.filter(action="note", actor=user).count() == 2


def test_a_note_cannot_carry_markup_into_the_page(client, login_as):
    login_as("front_desk")
    consultation_request = make_request()
    client.post(
        change_url(consultation_request),
        admin_form_data(consultation_request, new_note="<script>x()</script>"),
    )
    html = client.get(change_url(consultation_request)).content.decode()
    assert "<script>x()</script>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt;" in html


def test_status_and_assignment_change_through_the_form_and_show_in_the_history(client, login_as):
    login_as("front_desk", first_name="Dana", last_name="Reyes")
    colleague = make_staff("front_desk", username="colleague", first_name="Lee", last_name="Park")
    consultation_request = make_request()
    url = change_url(consultation_request)
    response = client.post(
        url, admin_form_data(consultation_request, status="contacted", assigned_to=colleague.pk)
    )
    assert response.status_code == 302
    consultation_request.refresh_from_db()
    assert consultation_request.status == Status.CONTACTED
    assert consultation_request.assigned_to == colleague
    html = client.get(url).content.decode()
    history = html[html.index('class="status-history"') :].split("</table>")[0]
    assert "New" in history and "Contacted" in history and "Dana Reyes" in history
    assert '<option value="colleague"' not in html  # users are offered by primary key, by name
    assert "Lee Park" in html


def test_an_impossible_move_is_refused_with_a_clear_message(client, login_as):
    login_as("front_desk")
    consultation_request = make_request()
    response = client.post(
        change_url(consultation_request), admin_form_data(consultation_request, status="completed")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "A request that is “New” cannot move to “Completed”. It can move to: Contacted, Scheduled" in html
    consultation_request.refresh_from_db()
    assert consultation_request.status == Status.NEW
    assert not StatusChange.objects.exists()


def test_the_status_menu_offers_only_the_allowed_moves(client, login_as):
    login_as("front_desk")
    consultation_request = make_request(status=Status.CONTACTED)
    html = client.get(change_url(consultation_request)).content.decode()
    select = html[html.index('name="status"') :].split("</select>")[0]
    offered = re.findall(r'<option value="([a-z_]+)"', select)
    assert offered == ["contacted", "declined", "cancelled_by_patient", "cancelled_by_staff"]


def test_nobody_adds_or_deletes_requests_in_the_admin(client, login_as):
    login_as("clinic_admin")
    consultation_request = make_request()
    assert client.get("/admin/appointments/consultationrequest/add/").status_code == 403
    assert client.get(change_url(consultation_request).replace("change", "delete")).status_code == 403


def test_a_request_page_makes_as_many_queries_with_many_notes_and_moves_as_with_none(client, login_as):
    from appointments.services import consultation_request_set_status, staff_note_create

    user = login_as("clinician")
    quiet, busy = make_request(), make_request()
    for number in range(20):
        staff_note_create(consultation_request=busy, author=user, text=f"note {number}")
    for status in ["spam", "new", "spam", "new"]:
        consultation_request_set_status(consultation_request=busy, status=status, by=user)
    client.get(change_url(quiet))
    assert queries_for(client, change_url(quiet)) == queries_for(client, change_url(busy))


def test_the_date_hierarchy_offers_years_and_months_without_scanning_every_row(client, login_as):
    login_as("front_desk")
    old = make_request(created_at=timezone.now() - datetime.timedelta(days=800))
    make_request()
    first = timezone.localtime(old.created_at)
    with CaptureQueriesContext(connection) as context:
        html = client.get(LIST_URL).content.decode()
    years = [int(year) for year in re.findall(r'created_at__year=(\d{4})"', html)]
    assert years == list(range(first.year, timezone.localdate().year + 1))
    assert not any("DISTINCT" in query["sql"] for query in context.captured_queries)
    html = client.get(f"{LIST_URL}?created_at__year={first.year}").content.decode()
    months = {int(month) for month in re.findall(r"created_at__month=(\d+)", html)}
    assert months == {first.month}


def test_a_change_the_status_service_refuses_is_shown_again_with_the_reason_and_nothing_saved(
    client, login_as, monkeypatch
):
    from django.contrib.admin.models import LogEntry

    from appointments.admin.requests import ConsultationRequestAdmin

    login_as("front_desk")
    colleague = make_staff("front_desk", username="colleague", first_name="Lee", last_name="Park")
    consultation_request = make_request()
    save_form = ConsultationRequestAdmin.save_form

    def closed_by_someone_else_meanwhile(self, request, form, change):
        # After this page's form was checked, another staff member marks the request as spam.
        ConsultationRequest.objects.filter(pk=consultation_request.pk).update(status=Status.SPAM)
        return save_form(self, request, form, change)

    monkeypatch.setattr(ConsultationRequestAdmin, "save_form", closed_by_someone_else_meanwhile)
    data = admin_form_data(
        consultation_request,
        status="contacted",
        assigned_to=colleague.pk,
        new_note="Called at 10:15, will call back after lunch",
    )
    response = client.post(change_url(consultation_request), data)

    assert response.status_code == 200
    html = response.content.decode()
    top = html[html.index('class="errornote"') : html.index("<fieldset")]
    assert "A request that is “Spam” cannot move to “Contacted”. It can move to: New." in top
    assert "Called at 10:15, will call back after lunch</textarea>" in html
    assert f'<option value="{colleague.pk}" selected>' in html
    assert not LogEntry.objects.exists()
    assert not StaffNote.objects.exists() and not StatusChange.objects.exists()
    consultation_request.refresh_from_db()
    # Even the colleague's move is undone here: in this test it ran inside the page's transaction.
    assert consultation_request.status == Status.NEW and consultation_request.assigned_to is None
    assert not AuditEvent.objects.exclude(action="view").exists()
    messages = [str(message) for message in response.context["messages"]]
    assert not any("successfully" in message for message in messages)

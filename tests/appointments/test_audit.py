"""The audit trail: every view, change and export of a request, with who and when; never edited."""

import pytest
from django.db import DatabaseError, connection, transaction

from appointments.models import AuditEvent, AuditSearchTerms
from appointments.services import audit_event_record, staff_note_create
from tests.factories import make_request, make_staff

from .conftest import LIST_URL, SCREENING_MARKERS, admin_form_data, change_url

pytestmark = pytest.mark.django_db

AUDIT_URL = "/admin/appointments/auditevent/"


def test_opening_a_request_is_recorded_with_who_and_what_they_saw(client, login_as):
    front_desk = login_as("front_desk")
    consultation_request = make_request()
    client.get(change_url(consultation_request))
    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_label, event.action) == (front_desk, "frontdesk", "view")
    assert (event.consultation_request, event.reference) == (
        consultation_request,
        consultation_request.reference,
    )
    assert event.description == "Opened the request (contact details and status)"
    assert event.created_at is not None


def test_a_clinicians_view_says_it_showed_screening_answers(client, login_as):
    login_as("clinician")
    client.get(change_url(make_request()))
    assert AuditEvent.objects.get().description == "Opened the request, screening answers included"


def test_the_list_and_a_refused_page_are_not_recorded_as_views(client, login_as):
    login_as("front_desk")
    consultation_request = make_request()
    client.get(LIST_URL)
    client.get(change_url(consultation_request).replace(str(consultation_request.pk), "999999"))
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).exists()
    # The list is recorded as a list.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [AuditEvent.Action.LIST]


def test_each_change_on_the_page_is_recorded(client, login_as):
    user = login_as("front_desk")
    consultation_request = make_request()
    client.post(
        change_url(consultation_request),
        admin_form_data(consultation_request, status="contacted", new_note="Called", assigned_to=user.pk),
    )
    actions = sorted(AuditEvent.objects.filter(actor=user).values_list("action", "description"))
    assert actions == [
        ("change", "Assigned to frontdesk"),
        ("note", "Added a note"),
        ("status", "Status: New → Contacted"),
    ]


def test_audit_descriptions_carry_no_health_detail_or_note_text(client, login_as):
    login_as("clinician")
    consultation_request = make_request(
        **{k: v for k, v in SCREENING_MARKERS.items() if k != "concern_other"}
    )
    client.get(change_url(consultation_request))
    client.post(
        change_url(consultation_request), admin_form_data(consultation_request, new_note="Secret-note-marker")
    )
    text = " ".join(AuditEvent.objects.values_list("description", flat=True))
    for marker in [*SCREENING_MARKERS.values(), "Secret-note-marker", consultation_request.first_name]:
        assert marker not in text


def test_clinic_admins_read_the_trail_by_request(client, login_as):
    login_as("clinic_admin")
    staff = make_staff("front_desk", username="dana")
    wanted, other = make_request(), make_request()
    staff_note_create(consultation_request=wanted, author=staff, text="x")
    staff_note_create(consultation_request=other, author=staff, text="y")
    html = client.get(AUDIT_URL, {"q": wanted.reference}).content.decode()
    assert wanted.reference in html and other.reference not in html
    assert "dana" in html and "Note added" in html
    assert f'href="{change_url(wanted)}"' in html
    page = client.get(change_url(wanted)).content.decode()
    assert f"{AUDIT_URL}?q={wanted.reference}" in page


def test_nobody_adds_changes_or_deletes_an_event_in_the_admin(client, login_as):
    admin = login_as("clinic_admin")
    admin.is_superuser = True
    admin.save()
    event = audit_event_record(actor=admin, action="view", description="Opened the request")
    assert client.get(AUDIT_URL + "add/").status_code == 403
    assert client.get(f"{AUDIT_URL}{event.pk}/delete/").status_code == 403
    page = client.get(f"{AUDIT_URL}{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="description"' not in page.content.decode() and 'name="_save"' not in page.content.decode()
    response = client.post(f"{AUDIT_URL}{event.pk}/change/", {"description": "edited"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.description == "Opened the request"
    html = client.get(AUDIT_URL).content.decode()
    assert 'name="action"' not in html  # no bulk actions, so no bulk delete


def test_postgresql_refuses_to_change_or_delete_an_event():
    event = audit_event_record(actor=None, actor_label="patient", action="status", description="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(description="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM appointments_auditevent")
    assert AuditEvent.objects.get(pk=event.pk).description == "x"


def test_deleting_a_login_keeps_its_events_and_their_author(client):
    staff = make_staff("front_desk", username="leaver")
    consultation_request = make_request()
    audit_event_record(
        actor=staff, action="view", description="Opened", consultation_request=consultation_request
    )
    staff.delete()
    event = AuditEvent.objects.get()
    assert event.actor is None and event.actor_label == "leaver"
    assert event.consultation_request == consultation_request


# Lists, filters, searches and look-ups that show patients.


def test_a_filtered_list_is_recorded_with_who_the_filters_and_how_many_rows(client, login_as):
    user = login_as("clinician")
    make_request(flags=["psychosis"], psychosis_history=True)
    make_request(flags=["psychosis"], psychosis_history=True, status="declined")
    make_request()
    response = client.get(LIST_URL, {"status": "all", "flag": "psychosis"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    assert event.actor == user
    assert event.description == "Request list: 2 requests; filters: flag=psychosis; status=all"
    assert not AuditSearchTerms.objects.exists()


def test_a_search_keeps_its_terms_beside_the_event_until_retention_clears_them(client, login_as):
    login_as("front_desk")
    found = make_request(first_name="Quillon", last_name="Vantrobe", status="declined")
    make_request(first_name="Other")
    client.get(LIST_URL, {"q": "Vantrobe"})
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    assert event.description == "Request list: 1 request, searched"
    assert "Vantrobe" not in event.description
    assert event.search_terms.terms == "Vantrobe"
    assert list(event.search_terms.requests.all()) == [found]

    # The clinic admin reads the terms in the audit trail.
    client.logout()
    login_as("clinic_admin")
    assert "Vantrobe" in client.get("/admin/appointments/auditevent/").content.decode()

    # Anonymising the request the search found clears the terms; the event stays.
    from appointments.services.retention import consultation_request_anonymise

    consultation_request_anonymise(consultation_request=found)
    assert not AuditSearchTerms.objects.exists()
    assert AuditEvent.objects.filter(pk=event.pk, description="Request list: 1 request, searched").exists()


def test_search_terms_that_found_nobody_go_after_the_retention_period(client, login_as):
    import datetime

    from django.utils import timezone

    from appointments.services.retention import consultation_requests_purge_closed

    login_as("front_desk")
    client.get(LIST_URL, {"q": "Nobodyhere"})
    assert AuditSearchTerms.objects.count() == 1
    consultation_requests_purge_closed(
        older_than=datetime.timedelta(days=365), now=timezone.now() + datetime.timedelta(days=366)
    )
    assert not AuditSearchTerms.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LIST).count() == 1


def test_an_autocomplete_look_up_of_requests_is_recorded(client, login_as, monkeypatch):
    from appointments.admin import ConsultationRequestAdmin, OutboundEmailAdmin

    # A look-up of requests from another page (the outbox's link to its request).
    monkeypatch.setattr(OutboundEmailAdmin, "autocomplete_fields", ["consultation_request"], raising=False)
    monkeypatch.setattr(ConsultationRequestAdmin, "has_view_permission", lambda self, request, obj=None: True)
    login_as("clinic_admin")
    found = make_request(last_name="Vantrobe")
    response = client.get(
        "/admin/autocomplete/",
        {
            "term": "Vantrobe",
            "app_label": "appointments",
            "model_name": "outboundemail",
            "field_name": "consultation_request",
        },
    )
    assert response.status_code == 200, response.content[:500]
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    assert event.description == "Autocomplete: 1 request, searched"
    assert list(event.search_terms.requests.all()) == [found]

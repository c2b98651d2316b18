"""Helpers for the consultation request tests: a complete, valid set of answers."""

import re

import pytest
from django.core.servers.basehttp import WSGIServer
from django.urls import reverse

from appointments.models import new_token
from tests.booking import walk
from tests.outbox import queue_pending

FORM_URL = "/consultation/"

# The live server listens with a backlog of 10 connections and resets the rest; fifty
# patients arriving at once need a queue as deep as a production server's. This runs at
# collection, before any live server starts.
WSGIServer.request_queue_size = 128

# Distinctive answers: if any of these turns up in an e-mail, a health detail has leaked.
SCREENING_MARKERS = {
    "concern_other": "Zebrafinch-concern-marker",
    "treatments_other": "Quokka-treatment-marker",
    "current_medications": "Lamotrigine-200mg-marker",
    "medical_history_other": "Narwhal-history-marker",
    "insurance_carrier": "Axolotl-insurance-marker",
    "heard_about_other": "Pangolin-heard-marker",
}


def answers(**overrides):
    """A POST body for a complete, valid, non-urgent request; keyword arguments replace answers."""
    data = {
        "first_name": "Maria",
        "last_name": "Okonkwo-Lindqvist",
        "email": "maria@example.com",
        "phone": "(212) 555-0199",
        "contact_method": "phone",
        "contact_times": ["morning", "evening"],
        "voicemail_ok": "on",
        "date_of_birth_month": "3",
        "date_of_birth_day": "27",
        "date_of_birth_year": "1985",
        "state": "NY",
        "concern": "other",
        "concern_other": SCREENING_MARKERS["concern_other"],
        "episode": "depressive",
        "self_harm_thoughts": "no",
        "is_adult": "yes",
        "antidepressant_trials": "3+",
        "treatments_tried": ["tried_mood_stabilisers", "tried_therapy"],
        "treatments_other": SCREENING_MARKERS["treatments_other"],
        "current_medications": SCREENING_MARKERS["current_medications"],
        "medical_history": ["high_blood_pressure", "seizures"],
        "medical_history_other": SCREENING_MARKERS["medical_history_other"],
        "modality": "telehealth",
        "treatment_preference": "iv",
        "payment": "insurance",
        "insurance_carrier": SCREENING_MARKERS["insurance_carrier"],
        "heard_about": "other",
        "heard_about_other": SCREENING_MARKERS["heard_about_other"],
        "consent_privacy": "on",
        "consent_contact": "on",
        "consent_not_emergency": "on",
        "source_article": "",
        "form_token": new_token(),
        "website": "",
    }
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def phq9(*scores):
    return {f"phq9_{n}": str(score) for n, score in enumerate(scores, start=1)}


def reference_in(html):
    match = re.search(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", html)
    return match.group(0) if match else None


@pytest.fixture
def submit(client, django_capture_on_commit_callbacks):
    """Post answers through the booking's steps and Send (running the after-commit callbacks), then
    queue the new request's e-mails as the mail worker's next pass does; return Send's response, or
    that of the first step that did not move on."""

    def post(data=None, *, follow=False, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = walk(client, data or answers(), follow=follow, **extra)
        queue_pending()
        return response

    return post


@pytest.fixture
def login_as(client, db):
    """Log the test client in as a new staff member of a role, past the second factor; return them.

    Roles: ``front_desk``, ``clinician``, ``clinic_admin`` (the groups of ``create_staff_groups``).
    """
    from tests.factories import log_in_verified, make_staff

    def log_in(role, **extra):
        user = make_staff(role, **extra)
        log_in_verified(client, user)
        return user

    return log_in


def admin_form_data(consultation_request, **overrides):
    """What a browser posts from a request's admin page left as it was; keyword arguments change fields.

    A value of None leaves the field out, as an unticked box or an empty select is left out.
    """
    from appointments.admin.forms import ConsultationRequestAdminForm

    form = ConsultationRequestAdminForm(instance=consultation_request)
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value in (None, False, ""):
            continue
        data[name] = "on" if value is True else field.widget.format_value(value)
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def change_url(consultation_request):
    return reverse("admin:appointments_consultationrequest_change", args=[consultation_request.pk])


LIST_URL = "/admin/appointments/consultationrequest/"

"""Helpers for the consultation request tests: sending a booking, staff logins, the admin's form."""

import re

import pytest
from django.core.servers.basehttp import WSGIServer
from django.urls import reverse

from tests.booking import walk
from tests.factories import SCREENING_MARKERS, booking_answers, phq9  # noqa: F401 - imported from here

FORM_URL = "/consultation/"

# The live server listens with a backlog of 10 connections and resets the rest; fifty
# patients arriving at once need a queue as deep as a production server's. This runs at
# collection, before any live server starts.
WSGIServer.request_queue_size = 128

# The booking's answers by the name the files not yet moved to ``tests.factories`` import.
answers = booking_answers


def reference_in(html):
    match = re.search(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", html)
    return match.group(0) if match else None


@pytest.fixture
def submit(client, django_capture_on_commit_callbacks):
    """Post answers through the booking's steps and Send (running the after-commit callbacks);
    return Send's response, or that of the first step that did not move on."""

    def post(data=None, *, follow=False, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = walk(client, data or booking_answers(), follow=follow, **extra)
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

"""The consultation pages are valid HTML by the Nu Html Checker."""

import pytest

from appointments.models import ConsultationRequest
from tests.factories import booking_answers
from tests.test_html_validity import validate

pytestmark = pytest.mark.django_db


def test_consultation_pages_are_valid_html(client, submit, tmp_path, settings):
    documents = {"__folder__": tmp_path}
    documents["form"] = client.get("/consultation/").content.decode()
    documents["form_errors"] = submit(
        booking_answers(email="x", self_harm_thoughts="yes", phone="")
    ).content.decode()
    submit(booking_answers(self_harm_thoughts="yes"))
    consultation_request = ConsultationRequest.objects.get()
    documents["received"] = client.get(consultation_request.get_absolute_url()).content.decode()
    documents["status"] = client.get(consultation_request.get_status_url()).content.decode()
    documents["thanks"] = submit(booking_answers(website="spam")).content.decode()
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "0/m"
    documents["too_many"] = submit(booking_answers()).content.decode()
    assert validate(documents) == {}

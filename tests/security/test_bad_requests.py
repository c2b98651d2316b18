"""Bad input that used to reach PostgreSQL or django-axes as a 500: now a 400, or read sanely."""

import pytest

from appointments.models import ConsultationRequest
from tests.booking import walk
from tests.factories import booking_answers, log_in_verified, make_request, make_staff

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/appointments/consultationrequest/?modality__exact=%00",
        "/admin/appointments/consultationrequest/?concern__exact=%00",
        "/admin/appointments/consultationrequest/?q=%00",
        "/admin/appointments/auditevent/?action__exact=%00",
        "/admin/appointments/outboundemail/?status__exact=%00",
        "/admin/auth/user/?q=%00",
        "/admin/autocomplete/?term=%00&app_label=appointments&model_name=consultationrequest&field_name=assigned_to",
    ],
)
def test_a_nul_in_an_admin_query_is_a_400(client, url):
    make_request()
    log_in_verified(client, make_staff("clinic_admin"))
    response = client.get(url)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "forwarded",
    ["1.2.3.4:5678", "unknown", "[2001:db8::1]:443", "2001:db8::1", "not an address, 203.0.113.7:80", ""],
)
def test_any_forwarded_for_entry_lets_the_form_through(client, settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    response = walk(client, booking_answers(), HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 302
    assert ConsultationRequest.objects.count() == 1

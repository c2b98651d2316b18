"""The staff's first look at requests and the outbox: the pages open, in a fixed number of queries."""

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from appointments.models import ConsultationRequest, OutboundEmail

from .conftest import answers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.CONSULTATION_RATE_LIMIT = "1000/m"


@pytest.fixture
def staff_client(client, django_user_model):
    """A superuser who passed the two-factor login."""
    user = django_user_model.objects.create_superuser(
        "clinician", "c@clinic.example", "a long test passphrase"
    )
    device = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def make_requests(submit, count):
    for _ in range(count):
        submit(answers())


@pytest.mark.parametrize("count", [1, 20])
def test_request_list_query_count_does_not_grow(staff_client, submit, django_assert_max_num_queries, count):
    make_requests(submit, count)
    with django_assert_max_num_queries(12):
        response = staff_client.get("/admin/appointments/consultationrequest/")
    assert response.status_code == 200
    html = response.content.decode()
    assert all(
        reference in html for reference in ConsultationRequest.objects.values_list("reference", flat=True)
    )


@pytest.mark.parametrize("count", [1, 20])
def test_outbox_list_query_count_does_not_grow_and_hides_addresses(
    staff_client, submit, django_assert_max_num_queries, count
):
    make_requests(submit, count)
    with django_assert_max_num_queries(12):
        response = staff_client.get("/admin/appointments/outboundemail/")
    assert response.status_code == 200
    assert "maria@example.com" not in response.content.decode()
    assert OutboundEmail.objects.count() == 2 * count


def test_the_staff_alert_link_opens_the_request(staff_client, submit):
    submit(answers())
    consultation_request = ConsultationRequest.objects.get()
    alert = OutboundEmail.objects.get(dedupe_key__endswith="staff-alert")
    path = alert.body.split("http://127.0.0.1:8000", 1)[1].split()[0]
    response = staff_client.get(path)
    assert response.status_code == 200
    assert consultation_request.reference in response.content.decode()

"""The dashboard on the admin's index: new today, urgent still open, the oldest uncontacted, a chart."""

import datetime
import re

import pytest
from django.utils import timezone

from appointments.models import ConsultationRequest
from appointments.selectors import consultation_request_dashboard
from tests.factories import make_request, make_requests

pytestmark = pytest.mark.django_db

Status = ConsultationRequest.Status


def days_ago(days, hour=10):
    today = timezone.localdate()
    moment = datetime.datetime.combine(today - datetime.timedelta(days=days), datetime.time(hour))
    return timezone.make_aware(moment)


@pytest.fixture
def queue(db):
    start_of_today = timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time.min))
    return {
        "today": make_request(created_at=start_of_today),
        "today_urgent": make_request(created_at=timezone.now(), is_urgent=True, self_harm_thoughts=True),
        "urgent_closed": make_request(
            created_at=days_ago(3), is_urgent=True, self_harm_thoughts=True, status=Status.DECLINED
        ),
        "urgent_contacted": make_request(
            created_at=days_ago(4), is_urgent=True, self_harm_thoughts=True, status=Status.CONTACTED
        ),
        "oldest_new": make_request(created_at=days_ago(12)),
        "older_contacted": make_request(created_at=days_ago(20), status=Status.CONTACTED),
        "older_spam": make_request(created_at=days_ago(25), status=Status.SPAM),
        "outside_window": make_request(created_at=days_ago(45)),
    }


def test_the_numbers(queue):
    dashboard = consultation_request_dashboard()
    assert dashboard.new_today == 2
    assert dashboard.urgent_open == 2
    # The request from 45 days ago is the oldest still new.
    assert dashboard.oldest_uncontacted == queue["outside_window"]
    queue["outside_window"].status = Status.CONTACTED
    queue["outside_window"].save()
    assert consultation_request_dashboard().oldest_uncontacted == queue["oldest_new"]


def test_requests_per_day_cover_thirty_days_with_zeros(queue):
    dashboard = consultation_request_dashboard()
    assert len(dashboard.days) == 30
    assert dashboard.days[-1].day == timezone.localdate()
    counts = {bar.day: bar.count for bar in dashboard.days}
    today = timezone.localdate()
    assert counts[today] == 2
    assert counts[today - datetime.timedelta(days=12)] == 1
    assert counts[today - datetime.timedelta(days=1)] == 0
    assert dashboard.total == 7
    assert dashboard.busiest.day == today
    tallest = max(dashboard.days, key=lambda bar: bar.height)
    assert tallest.height <= dashboard.height and tallest.y == dashboard.height - tallest.height


def test_days_are_the_clinics(settings):
    settings.TIME_ZONE = "America/New_York"
    # 11pm in New York is the next day in UTC; it counts on the clinic's day.
    today = timezone.localdate()
    late = timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time(23, 30))
    )
    make_request(created_at=late)
    counts = {bar.day: bar.count for bar in consultation_request_dashboard().days}
    assert counts[today - datetime.timedelta(days=1)] == 1 and counts[today] == 0


def test_four_queries_whatever_the_number_of_requests(django_assert_num_queries):
    make_requests(300)
    with django_assert_num_queries(4):
        consultation_request_dashboard()


@pytest.mark.parametrize("role", ["front_desk", "clinician", "clinic_admin"])
def test_the_index_shows_the_dashboard_with_a_server_drawn_chart(client, login_as, queue, role):
    login_as(role)
    html = client.get("/admin/").content.decode()
    section = html[html.index('class="clinic-dashboard"') : html.index("</section>")]
    figures = re.findall(r'<span class="dashboard-figure">([^<]+)</span>', section)
    assert figures[:2] == ["2", "2"]
    assert "new today" in section and "urgent, still open" in section
    assert f"the oldest not yet contacted ({queue['outside_window'].reference})" in section
    svg = section[section.index("<svg") : section.index("</svg>")]
    assert svg.count("<rect") == 30
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "style=" not in section and "<script" not in section
    assert "The numbers, day by day" in section


def test_the_dashboard_links_to_the_matching_lists(client, login_as, queue):
    login_as("front_desk")
    html = client.get("/admin/").content.decode()
    urgent = re.search(r'href="([^"]*is_urgent[^"]*)"', html).group(1).replace("&amp;", "&")
    listed = client.get(urgent).content.decode()
    assert queue["today_urgent"].reference in listed and queue["urgent_contacted"].reference in listed
    assert queue["urgent_closed"].reference not in listed
    today = re.search(r'href="([^"]*created_at__day[^"]*)"', html).group(1).replace("&amp;", "&")
    listed = client.get(today).content.decode()
    assert queue["today"].reference in listed and queue["oldest_new"].reference not in listed


def test_no_dashboard_for_staff_who_may_not_see_requests(client, db, django_user_model):
    from tests.factories import log_in_verified

    user = django_user_model.objects.create_user(
        "editor", "e@clinic.example", "a long passphrase", is_staff=True
    )
    log_in_verified(client, user)
    response = client.get("/admin/")
    html = response.content.decode()
    # Signed in (the index, not the login page), and still no dashboard.
    assert response.status_code == 200 and response.wsgi_request.user == user
    assert 'id="login-form"' not in html
    assert "You don’t have permission to view or edit anything." in html
    assert "clinic-dashboard" not in html

"""The intake link shows the minimum necessary (issue 25, finding 11).

Whoever holds the link sees that a page is answered and may answer it again, but sees the answers
saved on it only in a browser that saved them itself, or after giving the date of birth saved with
them; every such display is in the audit trail. A wrong date of birth shows nothing, and tries are
limited.
"""

import datetime
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from appointments.models import AuditEvent, ConsultationRequest
from tests.factories import make_request

pytestmark = pytest.mark.django_db

# Not the year of the date boxes' example (3 27 1985).
BORN = datetime.date(1971, 8, 14)
MEDICINE = "Lamictal 200 mg"
VIA_LINK = "patient via intake link"


@pytest.fixture
def saved(clinic_facts):
    """A request whose patient answered the intake: a date of birth, medicines, blood pressure."""
    return make_request(
        first_name="Maria",
        date_of_birth=BORN,
        diagnosis="bipolar_2",
        current_medications=MEDICINE,
        blood_pressure_systolic=165,
        blood_pressure_diastolic=95,
        prescriber_name="Dr Ada Park",
        phq9_1=2,
        intake_started_at=timezone.now(),
    )


@pytest.fixture
def link(saved):
    return saved.get_intake_url()


def page(client, link, section):
    response = client.get(f"{link}{section}/")
    assert response.status_code == 200
    return response.content.decode()


def confirm(client, link, section, born, **extra):
    return client.post(
        f"{link}{section}/",
        {
            "intake_action": "confirm",
            "confirm-date_of_birth_month": str(born.month),
            "confirm-date_of_birth_day": str(born.day),
            "confirm-date_of_birth_year": str(born.year),
        },
        **extra,
    )


def reads(consultation_request):
    return list(
        AuditEvent.objects.filter(
            consultation_request=consultation_request,
            actor_label=VIA_LINK,
            description__contains="shown with its saved answers",
        )
        .order_by("pk")
        .values_list("action", "reference", "description")
    )


def stored(consultation_request):
    return ConsultationRequest.objects.get(pk=consultation_request.pk)


def without_links(html):
    """The page without its signed links to the request: their random characters may hold any number."""
    return re.sub(r"KC-[^/\"\s]+", "", html)


def shows_the_health_answers(html):
    return MEDICINE in html or re.search(r'value="(165|95)"', html) is not None


def test_a_saved_page_says_it_is_answered_and_shows_no_answer(client, saved, link):
    html = page(client, link, "health")
    assert not shows_the_health_answers(html)
    assert "165" not in without_links(html) and "Lamictal" not in html
    assert "You have answered this page" in html
    assert "For your privacy, the answers you saved are not shown on this link." in html
    about = page(client, link, "about")
    assert "1971" not in without_links(about) and not re.search(r'value="bipolar_2"[^>]*checked', about)
    prescriber = page(client, link, "prescriber")
    assert "Ada Park" not in prescriber
    phq9 = page(client, link, "phq9")
    assert not re.search(r'name="phq9_1" value="2"[^>]*checked', phq9)
    assert reads(saved) == []


def test_the_right_date_of_birth_shows_the_answers_and_each_display_is_audited(client, saved, link):
    from appointments.views.intake import ACCESS_COOKIE, SHOWN_FOR

    response = confirm(client, link, "health", BORN)
    assert response.status_code == 302
    assert response["Location"] == f"{link}health/"
    cookie = response.cookies[ACCESS_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] == SHOWN_FOR
    assert cookie["path"] == "/consultation/intake/"
    assert MEDICINE not in cookie.value and "1971" not in cookie.value
    assert AuditEvent.objects.filter(
        consultation_request=saved,
        actor_label=VIA_LINK,
        action=AuditEvent.Action.VIEW,
        description="Clinical intake: date of birth confirmed to show the saved answers",
    ).exists()

    html = page(client, link, "health")
    assert MEDICINE in html
    assert re.search(r'name="blood_pressure_systolic" value="165"', html)
    assert "You have answered this page" not in html
    assert reads(saved) == [
        (
            "view",
            saved.reference,
            "Clinical intake: page 3 of 7 shown with its saved answers, after the date of birth was confirmed",
        )
    ]
    # Every page's answers, each display recorded.
    about = page(client, link, "about")
    assert 'name="date_of_birth_year" value="1971"' in about
    assert "Ada Park" in page(client, link, "prescriber")
    page(client, link, "health")
    pages = [re.search(r"page (\d) of 7", description).group(1) for *_rest, description in reads(saved)]
    assert pages == ["3", "1", "4", "3"]
    # No health detail in the audit trail.
    for *_rest, description in reads(saved):
        assert "Lamictal" not in description and "health" not in description


def test_a_wrong_date_of_birth_shows_a_clear_message_and_nothing_else(client, saved, link):
    from appointments.views.intake import ACCESS_COOKIE

    response = confirm(client, link, "health", BORN + datetime.timedelta(days=1))
    html = response.content.decode()
    assert response.status_code == 200
    assert "That is not the date of birth saved with your answers, so they stay hidden." in html
    assert 'class="error-summary"' in html and "<title>Error:" in html
    assert not shows_the_health_answers(html)
    assert ACCESS_COOKIE not in response.cookies
    assert not shows_the_health_answers(page(client, link, "health"))
    assert reads(saved) == []
    assert AuditEvent.objects.filter(
        consultation_request=saved, actor_label=VIA_LINK, description__contains="does not match"
    ).exists()

    response = client.post(f"{link}health/", {"intake_action": "confirm", "confirm-date_of_birth_month": "3"})
    assert "Date of birth must include a day and a year." in response.content.decode()
    assert not shows_the_health_answers(response.content.decode())


def test_the_answers_are_shown_for_a_short_while_in_that_browser_only(client, saved, link):
    from appointments.views.intake import SHOWN_FOR

    with time_machine.travel(timezone.now(), tick=False) as clock:
        confirm(client, link, "health", BORN)
        assert shows_the_health_answers(page(client, link, "health"))
        assert not shows_the_health_answers(page(Client(), link, "health"))
        # Another request's link in the same browser shows nothing of that request.
        other = make_request(current_medications="lithium 300 mg", date_of_birth=BORN)
        assert "lithium" not in page(client, other.get_intake_url(), "health")
        clock.shift(datetime.timedelta(seconds=SHOWN_FOR + 1))
        assert not shows_the_health_answers(page(client, link, "health"))


def test_answers_changed_elsewhere_since_are_hidden_again(client, saved, link):
    confirm(client, link, "health", BORN)
    assert shows_the_health_answers(page(client, link, "health"))
    ConsultationRequest.objects.filter(pk=saved.pk).update(current_medications="sertraline 100 mg")
    html = page(client, link, "health")
    assert "sertraline" not in html and "You have answered this page" in html


def test_too_many_tries_at_the_date_of_birth_are_refused(client, saved, link):
    for _try in range(5):
        assert confirm(client, link, "health", BORN.replace(year=1986)).status_code == 200
    response = confirm(client, link, "health", BORN)  # even the right one, now
    assert response.status_code == 429
    assert "Too many tries at the date of birth." in response.content.decode()
    assert not shows_the_health_answers(response.content.decode())
    assert not shows_the_health_answers(page(client, link, "health"))


def test_tries_at_one_request_are_limited_whatever_the_address(saved, link):
    for number in range(10):
        browser = Client(REMOTE_ADDR=f"203.0.113.{number + 1}")
        assert confirm(browser, link, "health", BORN.replace(year=1986)).status_code == 200
    browser = Client(REMOTE_ADDR="198.51.100.7")
    assert confirm(browser, link, "health", BORN).status_code == 429
    assert not shows_the_health_answers(page(browser, link, "health"))


def test_a_try_the_cache_cannot_count_shows_nothing(client, saved, link, monkeypatch):
    from appointments.views import intake

    monkeypatch.setattr(intake.shared_cache, "count", lambda *args, **kwargs: None)
    response = confirm(client, link, "health", BORN)
    assert response.status_code == 429
    assert not shows_the_health_answers(page(client, link, "health"))


# --- Changing an answer without the date of birth --------------------------------------------------


def test_a_hidden_page_answered_again_replaces_its_answers(client, saved, link):
    response = client.post(f"{link}health/", {"current_medications": "sertraline 50 mg"})
    assert response.status_code == 302
    assert response["Location"] == f"{link}prescriber/"
    changed = stored(saved)
    assert changed.current_medications == "sertraline 50 mg"
    assert changed.blood_pressure_systolic is None and changed.flags == []
    # What this browser typed itself it sees again (and the display is audited); nothing else.
    html = page(client, link, "health")
    assert "sertraline 50 mg" in html
    assert reads(saved)[-1][2].endswith("as this browser saved them")
    assert "Ada Park" not in page(client, link, "prescriber")


def test_a_hidden_page_sent_empty_keeps_its_answers(client, saved, link):
    response = client.post(f"{link}health/", {})
    assert response.status_code == 302
    kept = stored(saved)
    assert kept.current_medications == MEDICINE
    assert (kept.blood_pressure_systolic, kept.blood_pressure_diastolic) == (165, 95)


def test_a_hidden_date_of_birth_cannot_be_replaced_to_show_the_answers(client, saved, link):
    about = page(client, link, "about")
    assert 'name="date_of_birth_month"' not in about
    assert "Your date of birth stays as you saved it." in about
    response = client.post(
        f"{link}about/",
        {
            "date_of_birth_month": "1",
            "date_of_birth_day": "1",
            "date_of_birth_year": "1990",
            "episode": "stable",
        },
    )
    assert response.status_code == 302
    changed = stored(saved)
    assert changed.date_of_birth == BORN and changed.episode == "stable"
    assert confirm(client, link, "health", datetime.date(1990, 1, 1)).status_code == 200
    assert not shows_the_health_answers(page(client, link, "health"))


def test_without_a_saved_date_of_birth_the_answers_stay_hidden_and_none_can_be_added(client, saved, link):
    ConsultationRequest.objects.filter(pk=saved.pk).update(date_of_birth=None)
    html = page(client, link, "health")
    assert "No date of birth is saved with them to check" in html
    assert 'name="confirm-date_of_birth_month"' not in html
    about = page(client, link, "about")
    assert 'name="date_of_birth_month"' not in about
    assert "you can give it to the clinician at your consultation" in about
    client.post(
        f"{link}about/", {"date_of_birth_month": "1", "date_of_birth_day": "1", "date_of_birth_year": "1990"}
    )
    assert stored(saved).date_of_birth is None
    assert confirm(client, link, "health", datetime.date(1990, 1, 1)).status_code == 302
    assert not shows_the_health_answers(page(client, link, "health"))


def test_a_new_intake_asks_the_date_of_birth_and_shows_the_patient_their_own_answers(clinic_facts, client):
    fresh = make_request(
        date_of_birth=None, episode="", antidepressant_trials="", treatment_preference="", payment=""
    )
    link = fresh.get_intake_url()
    assert "You have answered this page" not in page(client, link, "about")
    client.post(
        f"{link}about/",
        {
            "date_of_birth_month": "8",
            "date_of_birth_day": "14",
            "date_of_birth_year": "1971",
            "episode": "stable",
        },
    )
    client.post(f"{link}health/", {"current_medications": MEDICINE})
    assert stored(fresh).date_of_birth == BORN
    assert MEDICINE in page(client, link, "health")
    assert 'value="1971"' in page(client, link, "about")
    # Another browser, with the link only: hidden, until the date of birth.
    other = Client()
    assert MEDICINE not in page(other, link, "health")
    confirm(other, link, "health", BORN)
    assert MEDICINE in page(other, link, "health")


def test_a_hidden_page_in_spanish(client, saved):
    from django.utils import translation

    with translation.override("es"):
        link = saved.get_intake_url()
    html = page(client, link, "health")
    assert "Ya respondió esta página" in html
    assert "Mostrar mis respuestas" in html
    assert "Su fecha de nacimiento" in html
    assert "You have answered" not in html and "Show my answers" not in html
    assert not shows_the_health_answers(html)

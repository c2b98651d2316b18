"""The intake in the staff workspace: its state for everyone (list column, filter, page), and for
clinicians only the MDQ result, the blood pressure and the other new answers."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import make_request, make_requests

from .conftest import LIST_URL, change_url

pytestmark = pytest.mark.django_db

LIST_MAX_QUERIES = 13
STARTED = {"intake_started_at": timezone.now() - datetime.timedelta(hours=2)}
COMPLETE = {**STARTED, "intake_completed_at": timezone.now() - datetime.timedelta(hours=1)}
MDQ_POSITIVE = {f"mdq_{n}": n <= 8 for n in range(1, 14)} | {
    "mdq_same_period": True,
    "mdq_problem": "serious",
}


@pytest.fixture
def answered():
    """A request whose patient did the intake: a positive MDQ, a high blood pressure, 7 of 9 PHQ-9."""
    return make_request(
        **COMPLETE,
        **MDQ_POSITIVE,
        **{f"phq9_{n}": 1 for n in range(1, 8)},
        blood_pressure_systolic=172,
        blood_pressure_diastolic=104,
        prescriber_name="Dr Ada Park",
        prescriber_contact="Zebrafinch practice",
        diagnosis="bipolar_2",
        date_of_birth=None,
        flags=["blood_pressure_high", "mdq_positive"],
    )


def row_of(html, reference):
    start = html.index(reference)
    return html[start : html.index("</tr>", start)]


@pytest.mark.parametrize("role", ["front_desk", "clinician"])
def test_the_list_shows_the_intake_state_to_every_role_without_more_queries(
    client, login_as, django_assert_max_num_queries, role
):
    login_as(role)
    not_started = make_request()
    started = make_request(**STARTED)
    complete = make_request(**COMPLETE)
    client.get(LIST_URL)
    with django_assert_max_num_queries(LIST_MAX_QUERIES) as few:
        html = client.get(LIST_URL).content.decode()
    assert '<span class="intake-state intake-state--not_started">Not started</span>' in row_of(
        html, not_started.reference
    )
    assert "Started</span>" in row_of(html, started.reference)
    assert "Complete</span>" in row_of(html, complete.reference)
    make_requests(100, **STARTED)
    make_requests(100, **COMPLETE)
    with django_assert_max_num_queries(LIST_MAX_QUERIES) as many:
        client.get(LIST_URL)
    assert len(few.captured_queries) == len(many.captured_queries)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("not_started", "not_started"), ("started", "started"), ("complete", "complete")],
)
def test_the_list_filters_by_intake_state(client, login_as, value, expected):
    login_as("front_desk")
    requests = {
        "not_started": make_request(),
        "started": make_request(**STARTED),
        "complete": make_request(**COMPLETE),
    }
    response = client.get(LIST_URL, {"intake": value})
    html = response.content.decode()
    assert response.status_code == 200
    for state, consultation_request in requests.items():
        assert (consultation_request.reference in html) is (state == expected), state


def test_a_clinician_sees_the_mdq_result_blood_pressure_and_new_answers(client, login_as, answered):
    login_as("clinician")
    html = client.get(change_url(answered)).content.decode()
    assert '<strong class="mdq mdq--positive">Positive screen</strong> · 8 of 13 yes (13 answered)' in html
    assert "<strong>172/104</strong> mmHg · 160/100 or above" in html
    assert "Incomplete: 7 of 9 answered (no score)" in html
    assert "Recent blood pressure 160/100 or above" in html
    assert "MDQ positive screen for bipolar disorder" in html
    assert "Dr Ada Park" in html and "Zebrafinch practice" in html
    assert "Bipolar II" in html
    assert '<span class="intake-state intake-state--complete">Complete</span>' in html


def test_the_front_desk_sees_the_intake_state_and_no_answer(client, login_as, answered):
    login_as("front_desk")
    html = client.get(change_url(answered)).content.decode()
    assert '<span class="intake-state intake-state--complete">Complete</span>' in html
    for hidden in ["Positive screen", "172/104", "MDQ", "Dr Ada Park", "Zebrafinch", "Bipolar II", "PHQ-9"]:
        assert hidden not in html, hidden


def test_an_untouched_intake_reads_not_answered(client, login_as):
    login_as("clinician")
    consultation_request = make_request(date_of_birth=None)
    html = client.get(change_url(consultation_request)).content.decode()
    assert '<span class="intake-state intake-state--not_started">Not started</span>' in html
    assert "Not answered" in html
    assert '<span class="not-answered">not answered</span>' in html  # the date of birth


def test_clinicians_may_filter_the_requests_without_a_phq9_score(client, login_as):
    login_as("clinician")
    partial = make_request(phq9_1=1, phq9_2=1)
    scored = make_request(**{f"phq9_{n}": 1 for n in range(1, 9)}, phq9_9=0)
    html = client.get(LIST_URL, {"phq9": "none"}).content.decode()
    assert partial.reference in html and scored.reference not in html


def test_the_export_carries_the_intake_state_and_for_clinicians_the_mdq(client, login_as, answered):
    import csv
    import io

    login_as("clinic_admin")
    response = client.get(LIST_URL + "export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    (row,) = [row for row in rows if row["Reference"] == answered.reference]
    assert row["Intake"] == "Complete"
    assert row["MDQ"] == "positive"
    assert row["Diagnosis (as the patient knows it)"] == "Bipolar II"

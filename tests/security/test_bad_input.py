"""Bad input in bulk: generated submissions and searches never make a 500 or a half-saved request.

Each example runs in a savepoint that is rolled back, so the row counts before and after it say
exactly what that one submission saved. The rate limits are raised for these tests.
"""

import contextlib
import os
import re
import string
import unicodedata
import urllib.parse

import pytest
from django.db import transaction
from django.test.client import ClientHandler, RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from appointments.forms import STEP_FORMS, SendForm
from appointments.models import PHQ9_FIELDS, ConsultationRequest, OutboundEmail
from education.services import clinic_content_load
from tests.booking import walk
from tests.factories import ArticleFactory, FAQEntryFactory

from .conftest import marked_answers, unsafe_html

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FORM_URL = reverse("appointments:booking_start")
FORMS = [*STEP_FORMS.values(), SendForm]
FIELDS = [*{name: None for form in FORMS for name in form.base_fields}, *PHQ9_FIELDS]
CHOICES = sorted(
    {
        str(value)
        for form in FORMS
        for field in form.base_fields.values()
        for value, _label in getattr(field, "choices", [])
    }
)
PROPERTY_SETTINGS = settings(
    deadline=None,
    database=None,
    # The same examples on every run, so a failure in CI can be replayed exactly; set
    # HYPOTHESIS_RANDOM=1 to explore new ones.
    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Any character a browser can send (NUL, control and format characters, astral planes).
any_text = st.text(st.characters(codec="utf-8"), max_size=60)
huge_text = st.builds(
    lambda unit, count: unit * count,
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=3),
    st.integers(90, 3000),
)
dates = st.dates().flatmap(
    lambda day: st.sampled_from(
        [
            day.isoformat(),
            day.strftime("%m/%d/%Y"),
            day.strftime("%d.%m.%Y"),
            f"{day.year}-13-45",
            "0000-00-00",
        ]
    )
)
numbers = st.integers(-(10**20), 10**20).map(str)
choice_like = st.sampled_from([*CHOICES, "", " ", "on", "off", "true", "None", "null", "[]", "4", "-1", "3 "])
value = st.one_of(any_text, huge_text, dates, numbers, choice_like)
# A list is the same key sent several times.
values = st.one_of(value, st.lists(value, max_size=3))
field_names = st.one_of(
    st.sampled_from(FIELDS), st.sampled_from(["csrfmiddlewaretoken", "", "first_name[]"]), any_text
)


@contextlib.contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def counts():
    return ConsultationRequest.objects.count(), OutboundEmail.objects.count()


class Visitor:
    """Requests through every middleware, as the test client sends them, minus the client's copy of
    every template context it renders: that copy made each example several times slower."""

    def __init__(self):
        self.handler = ClientHandler(enforce_csrf_checks=False)
        self.factory = RequestFactory()

    def get(self, path, data=None):
        return self._keep_cookies(self.handler(self.factory.get(path, data).environ))

    def post(self, path, data, *, content_type=None):
        if content_type is None:
            return self._keep_cookies(self.handler(self.factory.post(path, data).environ))
        request = self.factory.generic("POST", path, data, content_type=content_type)
        return self._keep_cookies(self.handler(request.environ))

    def _keep_cookies(self, response):
        # The booking's draft and the session live in cookies, as in a browser.
        self.factory.cookies.update(response.cookies)
        return response


@pytest.fixture
def visitor(db):
    return Visitor()


@pytest.fixture
def no_rate_limits(settings):
    settings.CONSULTATION_RATE_LIMIT = "1000000/m"
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "1000000/m"
    settings.CONSULTATION_EMAIL_RATE_LIMIT = settings.CONSULTATION_PHONE_RATE_LIMIT = "1000000/m"
    settings.BOOKING_CEILING_PER_HOUR = settings.BOOKING_CEILING_PER_DAY = 1000000


def assert_complete_and_valid(response, before):
    """Exactly one new request, complete and valid, with its two e-mails queued, and the patient
    sent to its confirmation."""
    saved = ConsultationRequest.objects.order_by("-pk").first()
    assert counts() == (before[0] + 1, before[1] + 2)
    assert response.status_code == 302
    assert response["Location"] == saved.get_absolute_url()
    saved.full_clean()
    for field in ["first_name", "last_name", "email", "phone", "reference", "form_token"]:
        assert getattr(saved, field), field
    assert re.fullmatch(r"\+[1-9]\d{6,14}", saved.phone)
    for field in ConsultationRequest._meta.get_fields():
        text = getattr(saved, field.name, None) if field.concrete else None
        if isinstance(text, str):
            assert not any(unicodedata.category(char) == "Cc" and char not in "\t\n\r" for char in text), (
                field.name
            )


def check_submission(visitor, data, *, content_type=None):
    before = counts()
    with rolled_back():
        response = walk(visitor, data, content_type=content_type, strict=False)
        assert response.status_code in {200, 302, 400}, response.status_code
        event(f"status {response.status_code}")
        if counts() != before:
            assert_complete_and_valid(response, before)
        elif response.status_code == 400:
            assert "We couldn’t read that request" in response.content.decode()
        else:
            assert response.status_code == 200
            page = response.content.decode()
            assert "There is a problem" in page or "There are problems" in page or "Thank you" in page
    return response


@settings(PROPERTY_SETTINGS, max_examples=250)
@given(changes=st.dictionaries(field_names, st.one_of(st.none(), values), max_size=8))
def test_any_change_to_a_valid_submission_saves_one_valid_request_or_nothing(
    visitor, no_rate_limits, changes
):
    data = marked_answers()
    for name, new_value in changes.items():
        if new_value is None:
            data.pop(name, None)
        else:
            data[name] = new_value
    check_submission(visitor, data)


@settings(PROPERTY_SETTINGS, max_examples=120)
@given(data=st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS)))
def test_any_submission_from_scratch_saves_one_valid_request_or_nothing(visitor, no_rate_limits, data):
    check_submission(visitor, data)


raw_pairs = st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=40)), max_size=12)


@settings(PROPERTY_SETTINGS, max_examples=120)
@given(
    pairs=raw_pairs,
    separator=st.sampled_from([b"&", b";", b"&&", b"="]),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/x-www-form-urlencoded; charset=no-such-charset",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "text/plain",
            "application/json",
        ]
    ),
)
def test_raw_bodies_in_any_encoding_never_fail(visitor, no_rate_limits, pairs, separator, content_type):
    """Bytes that are not UTF-8, broken percent-escapes, odd separators and content types."""
    body = separator.join(
        urllib.parse.quote_from_bytes(key).encode() + b"=" + (value.replace(b"&", b"%") or b"%ZZ")
        for key, value in pairs
    )
    check_submission(visitor, body, content_type=content_type)


@pytest.fixture
def library(db):
    """The clinic's article, and one with FAQs, for searches to find."""
    clinic_content_load()
    article = ArticleFactory(
        title="Ketamine and depression", body="## Safety\n\nBlood pressure, dissociation."
    )
    FAQEntryFactory(article=article, question="Is ketamine safe?", answer="Mostly, with **monitoring**.")


search_text = st.one_of(
    any_text,
    huge_text,
    st.text(st.sampled_from(string.punctuation + " ketaminbpolrsfy<>&\"'|!:*()\\-"), max_size=40),
    st.sampled_from(["ketamine", "bipolar -depression", '"side effects"', "or", "!!", "a:*", "&|<->"]),
)


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(
    query=search_text,
    extra=st.dictionaries(any_text, st.one_of(any_text, st.lists(any_text, max_size=3)), max_size=3),
)
def test_any_search_answers_a_safe_page(visitor, library, query, extra):
    response = visitor.get("/learn/", {**extra, "q": query})
    assert response.status_code == 200
    assert unsafe_html(response.content.decode()) == []


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(raw=st.binary(max_size=300))
def test_any_raw_query_string_answers_the_library_or_a_400(visitor, library, raw):
    query = urllib.parse.quote_from_bytes(raw, safe=b"=&%[];+")
    response = visitor.get(f"/learn/?{query}")
    assert response.status_code in {200, 400}
    assert unsafe_html(response.content.decode()) == []

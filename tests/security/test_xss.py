"""Script and template injection through every free-text field comes out inert on every page that
shows it: the form sent back with a mistake, the confirmation and status pages, the mails, the
article pages, the library and its search, the feed, and the staff workspace."""

import datetime
import re
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from appointments import questionnaire, services
from appointments.forms.fields import reject_contact_details_in_name
from appointments.models import ConsultationRequest
from appointments.views.booking import STEPS
from education.models import Article
from education.services import CONTENT_TEXT_FIELDS
from tests.booking import sent_from, step_fields, walk
from tests.factories import ArticleFactory, FAQEntryFactory, TopicFactory

from .conftest import marked_answers, unsafe_html

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)" x="',
    "' onfocus='alert(1)' autofocus='",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">click me</a>',
    "<iframe src=javascript:alert(1)></iframe>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><style><img src=x onerror=alert(1)></style></math>",
    "<base href=javascript:alert(1)//>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
    "{{ 7*191 }} {% debug %} {{ settings.SECRET_KEY }}",
    "${7*191} #{7*191} <%= 7*191 %>",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;script&#62;",
]
# An address may quote almost anything before the @.
EMAIL_PAYLOADS = ['"<svg/onload=alert(1)>"@example.com', '"<script>alert(1)</script>"@example.com']

# Every answer a patient types while booking, as the questionnaire defines them: a new one is tested
# too. (The intake's typed answers are tested with the intake's steps.)
PATIENT_FIELDS = [
    question.name
    for section in questionnaire.sections(stage=questionnaire.BOOKING)
    for question in section.questions
    if question.kind in {questionnaire.Kind.TEXT, questionnaire.Kind.LONG_TEXT}
]
STEP_OF = {name: step.section for step in STEPS for name in step_fields(step.section)}
# Every plain-text field of an article; the Markdown ones (body, conclusion) are sanitised HTML,
# tested on their own.
ARTICLE_FIELDS = [name for name in CONTENT_TEXT_FIELDS if name not in {"body", "conclusion"}]


def _name_accepts(payload):
    try:
        reject_contact_details_in_name(payload)
    except ValidationError:
        return False
    return True


# A name refuses digits and dotted words (a phone number, a domain name: "Dear evil.com"), so the
# template payloads never reach a page or a mail through it; a name meets every other payload.
NAME_FIELDS = {"first_name", "last_name"}
NAME_PAYLOADS = [payload for payload in PAYLOADS if _name_accepts(payload)]


def rotated(fields, shift):
    """Payload number ``shift + n`` in the n-th field: over len(PAYLOADS) shifts, every payload meets
    every field (every payload a name accepts, for a name)."""
    return {
        field: (NAME_PAYLOADS if field in NAME_FIELDS else PAYLOADS)[
            (shift + n) % len(NAME_PAYLOADS if field in NAME_FIELDS else PAYLOADS)
        ]
        for n, field in enumerate(fields)
    }


class _Shown(HTMLParser):
    """Text and attribute values of a page, as the browser reads them (entities decoded)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_starttag(self, tag, attrs):
        self.parts += [value or "" for _name, value in attrs]

    def handle_data(self, data):
        self.parts.append(data)


def shown(page):
    parser = _Shown()
    parser.feed(page)
    return "\n".join(parser.parts)


def assert_inert(page, *, shows=(), where=""):
    """No script can run from ``page``, and each of ``shows`` comes back as the very text typed."""
    assert unsafe_html(page) == [], where
    assert settings.SECRET_KEY not in page, where
    text = shown(page)
    for payload in shows:
        assert payload in text, (where, payload)


@pytest.fixture
def requests_with_payloads(client, settings, django_capture_on_commit_callbacks):
    """One request per shift of the payload list, each answer a payload, two with quoted addresses."""
    settings.CONSULTATION_RATE_LIMIT = "1000/m"
    settings.CONSULTATION_EMAIL_RATE_LIMIT = settings.CONSULTATION_PHONE_RATE_LIMIT = "1000/m"
    made = []
    for shift in range(len(PAYLOADS)):
        answers = rotated(PATIENT_FIELDS, shift)
        if shift < len(EMAIL_PAYLOADS):
            answers["email"] = EMAIL_PAYLOADS[shift]
        with django_capture_on_commit_callbacks(execute=True):
            response = walk(client, marked_answers(**answers))
        assert response.status_code == 302, (shift, response.content.decode()[:3000])
        consultation_request = ConsultationRequest.objects.get(
            confirmation_token=response["Location"].split("/")[-2]
        )
        made.append((consultation_request, answers, response["Location"]))
    return made


def test_the_form_sent_back_with_a_mistake_shows_every_payload_as_typed(client, settings):
    settings.CONSULTATION_ATTEMPT_RATE_LIMIT = "1000/m"
    for shift in range(len(PAYLOADS)):
        answers = rotated(PATIENT_FIELDS, shift)
        answers["email"] = EMAIL_PAYLOADS[shift % len(EMAIL_PAYLOADS)]
        # A mistake on each step in turn: the step comes back with its payloads as typed.
        for step, mistake in [("contact", {"consent_privacy": None}), ("visit", {"modality": None})]:
            response = walk(client, marked_answers(**answers, **mistake))
            assert response.status_code == 200
            typed = [value for name, value in answers.items() if STEP_OF[name] == step]
            assert typed, step
            assert_inert(response.content.decode(), shows=typed, where=f"{step}, shift {shift}")
    assert ConsultationRequest.objects.count() == 0


def test_the_patients_pages_and_mails_keep_payloads_inert(client, requests_with_payloads):
    for consultation_request, _answers, location in requests_with_payloads:
        # The browser keeps its last few confirmations: this one is among them.
        sent_from(client, consultation_request)
        for url in [location, consultation_request.get_status_url()]:
            response = client.get(url)
            assert response.status_code == 200
            assert consultation_request.reference in response.content.decode()
            assert_inert(response.content.decode(), where=url)

    call_command("mail_worker", "--once", verbosity=0)
    assert len(mail.outbox) == 2 * len(requests_with_payloads)
    by_reference = {request.reference: answers for request, answers, _location in requests_with_payloads}
    for message in mail.outbox:
        # Plain text only: there is no HTML part for a payload to run in.
        assert message.content_subtype == "plain"
        assert not getattr(message, "alternatives", [])
        (reference,) = set(re.findall(r"KC-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", message.body))
        answers = by_reference[reference]
        text = message.subject + message.body
        if message.to != [settings.CLINIC_STAFF_EMAIL]:
            assert f"Dear {answers['first_name']}," in message.body
            text = text.replace(answers["first_name"], "")
        # Nothing else the patient typed is in a mail at all; the staff's carry not even the name.
        for value in answers.values():
            assert value not in text, (message.subject, value)


def add_staff_text(requests_with_payloads, user):
    """What staff type about a request: a note, a note on a status change, a consultation's place."""
    for shift, (consultation_request, answers, _location) in enumerate(requests_with_payloads):
        payload = PAYLOADS[shift]
        services.staff_note_create(consultation_request=consultation_request, author=user, text=payload)
        services.consultation_request_set_status(
            consultation_request=consultation_request, status="contacted", by=user, note=payload
        )
        services.appointment_book(
            consultation_request=consultation_request,
            starts_at=timezone.now() + datetime.timedelta(days=3, hours=shift),
            duration_minutes=60,
            modality="in_person",
            location=payload,
            source=services.Source.STAFF,
            by=user,
        )
        answers["staff"] = payload


def test_the_staff_workspace_keeps_payloads_inert(
    staff_client, requests_with_payloads, django_user_model, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_staff_text(requests_with_payloads, django_user_model.objects.get(is_superuser=True))
    response = staff_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert_inert(response.content.decode(), where="dashboard")
    changelist = reverse("admin:appointments_consultationrequest_changelist")
    response = staff_client.get(changelist)
    assert response.status_code == 200
    page = response.content.decode()
    assert all(request.reference in page for request, _answers, _location in requests_with_payloads)
    assert_inert(page, where="request list")

    for consultation_request, answers, _location in requests_with_payloads:
        url = reverse("admin:appointments_consultationrequest_change", args=[consultation_request.pk])
        response = staff_client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        # The answers and the staff's notes are shown: each comes back as the text typed.
        assert_inert(page, shows=[answers["concern_other"], answers["staff"]], where=url)

    # The invitations the scheduling sent: plain text and a calendar file, nothing to run.
    call_command("mail_worker", "--once", verbosity=0)
    invitations = [message for message in mail.outbox if message.attachments]
    assert len(invitations) == len(requests_with_payloads)
    for message in invitations:
        assert message.content_subtype == "plain" and not getattr(message, "alternatives", [])
        assert [attachment.mimetype for attachment in message.attachments] == ["text/calendar"]

    for payload in PAYLOADS:
        response = staff_client.get(changelist, {"q": payload})
        assert response.status_code == 200
        assert_inert(response.content.decode(), shows=[payload], where=f"search {payload}")


@pytest.fixture
def articles_with_payloads(settings, tmp_path):
    """One published article per shift of the payload list: every text an editor types is a payload."""
    settings.MEDIA_ROOT = tmp_path
    made = []
    for shift in range(len(PAYLOADS)):
        fields = rotated(ARTICLE_FIELDS, shift)
        payload = PAYLOADS[shift]
        topic = TopicFactory(name=f"{payload} {shift}", description=payload)
        article = ArticleFactory(
            slug=f"payload-{shift}",
            # Markdown with raw HTML in it, in the body and the closing words.
            body=f"## {payload}\n\nketamine {payload}\n\n[link]({payload}) {payload}",
            conclusion=f"{payload}\n\n<div onclick=alert(1)>{payload}</div>",
            hero_image="education/articles/hero.png",
            faq_image="education/articles/faq.png",
            topics=[topic],
            **fields,
        )
        FAQEntryFactory(article=article, question=PAYLOADS[(shift + 1) % len(PAYLOADS)], answer=payload)
        made.append((article, fields))
    return made


def test_article_pages_the_library_search_and_feed_keep_payloads_inert(client, articles_with_payloads):
    for article, fields in articles_with_payloads:
        response = client.get(article.get_absolute_url())
        assert response.status_code == 200
        page = response.content.decode()
        shows = [fields[name] for name in ["title", "summary", "reviewer_name", "hero_image_credit"]]
        assert_inert(page, shows=shows, where=article.slug)
        # The title stays in the page's <title>, as text.
        title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
        assert "<" not in title

    response = client.get(reverse("education:article_list"))
    assert_inert(
        response.content.decode(), shows=[a.title for a, _f in articles_with_payloads], where="library"
    )

    for payload in [*PAYLOADS, "ketamine", "alert", "script onerror"]:
        response = client.get(reverse("education:article_list"), {"q": payload})
        assert response.status_code == 200
        assert_inert(response.content.decode(), where=f"search {payload}")
    response = client.get(reverse("education:article_list"), {"q": "ketamine"})
    assert "<mark>" in response.content.decode(), "the search should find the payload articles"

    # The feed is well-formed XML (the site's own), and its entries' titles are the titles as typed.
    feed = client.get(reverse("education:feed"))
    assert feed.status_code == 200
    root = ElementTree.fromstring(feed.content)  # noqa: S314
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    titles = {entry.findtext("{http://www.w3.org/2005/Atom}title") for entry in entries}
    assert entries and titles <= {article.title for article, _fields in articles_with_payloads}


def test_the_article_admin_keeps_payloads_inert(staff_client, articles_with_payloads):
    response = staff_client.get(reverse("admin:education_article_changelist"))
    assert response.status_code == 200
    assert_inert(response.content.decode(), where="article list")
    for article, fields in articles_with_payloads:
        url = reverse("admin:education_article_change", args=[article.pk])
        response = staff_client.get(url)
        assert response.status_code == 200
        assert_inert(response.content.decode(), shows=[fields["title"], fields["summary"]], where=url)
    assert Article.objects.count() == len(PAYLOADS)

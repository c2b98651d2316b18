"""Walking the booking's steps in tests: one flat dict of answers, posted a step at a time.

``answers`` is what ``tests.factories.booking_answers`` makes: each step is sent the answers of its
own questions, then Send gets the acknowledgement, the one-time token and the honeypot. A name that
no step asks is refused, not left out: the intake's answers go through ``tests.intake``.
"""

import re
import time
import urllib.parse

from django.http import HttpResponse

from appointments.views.booking import STEPS, Sent, keep_sent
from tests.factories import BOOKING_QUERY, booking_step_names

CHECK_URL = "/consultation/check/"
HELP_URL = "/consultation/help/"
# After "in person or by video", when a clinician can see the patient: the open times.
WHEN_URL = "/consultation/when/"
STEP_NAMES = booking_step_names()
SEND_FIELDS = tuple(STEP_NAMES["check"])
STEP_URLS = [step.url for step in STEPS]


def step_fields(section_id):
    return STEP_NAMES[section_id]


def step_data(section_id, answers):
    """The part of ``answers`` that one step's form asks."""
    return {name: answers[name] for name in step_fields(section_id) if name in answers}


def unasked(answers):
    """The names in ``answers`` that no step of the booking asks."""
    asked = {name for names in STEP_NAMES.values() for name in names}
    return set(answers) - asked - set(BOOKING_QUERY)


def send_data(answers):
    return {name: answers[name] for name in SEND_FIELDS if name in answers}


def first_step_url(answers):
    source = answers.get("source_article")
    return STEPS[0].url + ("?" + urllib.parse.urlencode({"from": source}) if source else "")


def moved_on(response, number, prefix=""):
    """Whether a step's response sends the patient forward: a later step, crisis help, the open
    times or the check page (a patient who chooses no time is called to find one)."""
    if response.status_code != 302:
        return False
    location = response["Location"].split("?")[0].removeprefix(prefix)
    return location in {*STEP_URLS[number + 1 :], HELP_URL, WHEN_URL, CHECK_URL}


def walk(client, answers, *, follow=False, stop_after=None, prefix="", strict=True, **extra):
    """Post ``answers`` through the steps with a Django test client, then Send; return the response of
    Send, or of the first step that did not move on (a page with errors, a 429, a lost draft).

    ``answers`` may also be a raw body (bytes): it is then posted as it is to each step.
    ``stop_after``: the section id of the last step to post (a patient who leaves early).
    ``prefix``: the language's prefix of the addresses ("/es" for the Spanish pages).
    ``strict``: a name no step asks raises ``ValueError``; with ``strict=False`` such names are
    posted to every step, as a hostile client may send them.
    """
    raw = not isinstance(answers, dict)
    foreign = {} if raw else {name: answers[name] for name in unasked(answers)}
    if foreign and strict:
        raise ValueError(f"Not asked while booking: {', '.join(sorted(foreign))}")
    for number, step in enumerate(STEPS):
        if raw:
            url, data = step.url, answers
        else:
            url = first_step_url(answers) if number == 0 else step.url
            data = {**foreign, **step_data(step.section, answers)}
        response = client.post(prefix + url, data, **extra)
        if not moved_on(response, number, prefix) or step.section == stop_after:
            return response
    if follow:
        extra["follow"] = True
    return client.post(prefix + CHECK_URL, answers if raw else {**foreign, **send_data(answers)}, **extra)


def csrf_token_in(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def form_token_in(page):
    match = re.search(r'name="form_token" value="([^"]+)"', page)
    return match.group(1) if match else None


def sent_from(client, consultation_request):
    """Make ``client`` the browser that sent ``consultation_request`` a moment ago (its confirmation
    page shows there), as Send's cookie says."""
    sent = Sent(
        consultation_request.form_token, "", consultation_request.confirmation_token, int(time.time())
    )
    client.cookies.update(keep_sent(HttpResponse(), [sent]).cookies)

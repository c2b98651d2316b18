"""Answering the clinical intake in tests: every page posted by the request's signed link.

``answers`` is what ``tests.factories.intake_answers`` makes: each page is sent the answers of its
own questions. A name that no page asks is refused, not left out.
"""

from django.urls import reverse

from tests.factories import intake_page_names

PAGE_NAMES = intake_page_names()


def page_data(section_id, answers):
    """The part of ``answers`` that one page of the intake asks."""
    return {name: answers[name] for name in PAGE_NAMES[section_id] if name in answers}


def answer_intake(client, consultation_request, answers, *, prefix=""):
    """Post ``answers`` through every page of the intake of ``consultation_request``, in order, as a
    patient who follows the link from their e-mail; return the last page's response.

    Each page must move on (a redirect to the next page, the crisis page or the end): a page that
    comes back with errors fails here, naming the page and its errors.
    """
    asked = {name for names in PAGE_NAMES.values() for name in names}
    unknown = set(answers) - asked
    if unknown:
        raise ValueError(f"Not asked in the intake: {', '.join(sorted(unknown))}")
    signed = consultation_request.get_intake_url().rstrip("/").split("/")[-1]
    for section_id in PAGE_NAMES:
        url = reverse("appointments:intake_page", kwargs={"signed": signed, "section": section_id})
        response = client.post(prefix + url, page_data(section_id, answers))
        errors = response.context["form"].errors if response.status_code == 200 and response.context else ""
        assert response.status_code == 302, (section_id, response.status_code, errors)
    return response

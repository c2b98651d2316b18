"""Template context shared by every page: who the clinic is, how to reach it, when it is open, and
the same page in the other language."""

import re

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.urls import translate_url
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import get_language

from . import details

SPANISH = "es"


def clinic(request):
    # Lazy: a page that never shows the clinic's facts never reads them.
    return {"clinic": SimpleLazyObject(details.get)}


def languages(request):
    """The page's address in each language, when it has one in both (the patient's pages do).

    ``language_switch`` is the other language's address, query included (a search stays a
    search); ``language_alternates`` are the addresses for ``hreflang`` links.
    """
    return {
        "language_switch": SimpleLazyObject(lambda: _switch(request)),
        "language_alternates": SimpleLazyObject(lambda: _alternates(request)),
    }


def _other(language):
    return settings.LANGUAGE_CODE if language == SPANISH else SPANISH


# What the switch carries over to the other language's page: a search, and the article a patient
# came from; never anything else a link may have put in the address.
SWITCH_KEEPS = {
    "q": lambda value: len(value) <= 200,
    "from": lambda value: re.fullmatch(r"[-a-zA-Z0-9_]{1,200}", value) is not None,
}


def _translated(path, language):
    """``path`` in ``language``, or None unless both are paths on this site: Django's
    ``translate_url`` reads ``//host/`` as a host, and a browser reads ``/\\host/`` as one too."""
    if not _is_local(path):
        return None
    url = translate_url(path, language)
    return url if _is_local(url) else None


def _is_local(path):
    return path.startswith("/") and not path.startswith(("//", "/\\"))


def _switch(request):
    current = get_language()
    other = _other(current)
    url = _translated(request.path, other)
    if url is None or url == request.path:
        return {}
    try:
        given = list(request.GET.items())
    except SuspiciousOperation:
        # The error page of an address with too many parameters: the switch leads to the page alone.
        given = []
    kept = {name: value for name, value in given if name in SWITCH_KEEPS and SWITCH_KEEPS[name](value)}
    if kept:
        url += "?" + urlencode(kept)
    return {"url": url, "language": "en" if other == settings.LANGUAGE_CODE else other}


def _alternates(request):
    english = _translated(request.path, settings.LANGUAGE_CODE)
    spanish = _translated(request.path, SPANISH)
    if english is None or spanish is None or english == spanish:
        return []
    return [{"hreflang": "en", "path": english}, {"hreflang": SPANISH, "path": spanish}]

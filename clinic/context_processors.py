"""Template context shared by every page: who the clinic is, how to reach it, when it is open, and
the same page in the other language."""

from django.conf import settings
from django.urls import translate_url
from django.utils.functional import SimpleLazyObject
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


def _switch(request):
    current = get_language()
    other = _other(current)
    full_path = request.get_full_path()
    url = translate_url(full_path, other)
    if url == full_path:
        return {}
    return {"url": url, "language": "en" if other == settings.LANGUAGE_CODE else other}


def _alternates(request):
    english = translate_url(request.path, settings.LANGUAGE_CODE)
    spanish = translate_url(request.path, SPANISH)
    if english == spanish:
        return []
    return [{"hreflang": "en", "path": english}, {"hreflang": SPANISH, "path": spanish}]

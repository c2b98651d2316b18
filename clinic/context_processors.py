"""Template context shared by every page: who the clinic is, how to reach it, when it is open."""

from django.utils.functional import SimpleLazyObject

from . import details


def clinic(request):
    # Lazy: a page that never shows the clinic's facts never reads them.
    return {"clinic": SimpleLazyObject(details.get)}

"""What the library's search knows besides the articles: synonyms editors keep, and searches that found nothing."""

import re

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .articles import LibraryContent

MISS_TERM_MAX_LENGTH = 100
# A search that looks like contact details (an e-mail address, a phone number) is not counted.
_PERSONAL = re.compile(r"@|(?:\d\D?){5,}")


def synonym_terms(text):
    """The terms of a synonym group as editors type them: separated by commas, lower case, no repeats."""
    terms = []
    for term in text.split(","):
        term = " ".join(term.lower().split())
        if term and term not in terms:
            terms.append(term)
    return terms


class SearchSynonym(LibraryContent):
    """Words that mean the same to a patient: a search for one finds the others."""

    terms = models.CharField(
        _("words that mean the same"),
        max_length=500,
        help_text=_("Separate them with commas, e.g. “spravato, esketamine, nasal spray”. Phrases are fine."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["terms"]
        verbose_name = _("search synonym")
        verbose_name_plural = _("search synonyms")

    def __str__(self):
        return self.terms

    def save(self, *args, **kwargs):
        self.terms = ", ".join(synonym_terms(self.terms))
        super().save(*args, **kwargs)

    @property
    def term_list(self):
        return synonym_terms(self.terms)


class SearchMiss(models.Model):
    """A search of the library that found nothing: the words only, how often, and when last."""

    term = models.CharField(_("search"), max_length=MISS_TERM_MAX_LENGTH, unique=True)
    count = models.PositiveIntegerField(_("times"), default=1)
    first_searched = models.DateTimeField(_("first searched"), auto_now_add=True)
    last_searched = models.DateTimeField(_("last searched"), default=timezone.now)

    class Meta:
        ordering = ["-count", "-last_searched"]
        verbose_name = _("search that found nothing")
        verbose_name_plural = _("searches that found nothing")
        indexes = [models.Index(fields=["-count", "-last_searched"], name="education_searchmiss_top_idx")]

    def __str__(self):
        return self.term


def search_miss_term(terms):
    """The words to count for a search that found nothing, or "" when they look like contact details."""
    term = " ".join(terms.lower().split())[:MISS_TERM_MAX_LENGTH].strip()
    return "" if _PERSONAL.search(term) else term

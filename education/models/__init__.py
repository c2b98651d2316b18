"""The education app's models: the library's articles, and the clinic's facts that pages show."""

from .articles import *  # noqa: F403
from .facts import (
    FACTS_CACHE_KEY,
    STATES,
    ClinicProfile,
    Closure,
    OpeningHours,
    TreatmentPrice,
    clinic_facts_changed,
)
from .safety import SafetyNotice
from .search import SearchMiss, SearchSynonym, search_miss_term, synonym_terms
from .translations import ArticleTranslation, translate_articles

__all__ = [  # noqa: F405
    "FACTS_CACHE_KEY",
    "HIGHLIGHT_START",
    "HIGHLIGHT_STOP",
    "REVIEW_DUE_SOON_DAYS",
    "SearchMiss",
    "SearchSynonym",
    "search_miss_term",
    "synonym_terms",
    "SEARCH_CONFIG",
    "STATES",
    "SafetyNotice",
    "Article",
    "ArticleTranslation",
    "translate_articles",
    "ArticleQuerySet",
    "ClinicProfile",
    "Closure",
    "FAQEntry",
    "OpeningHours",
    "Topic",
    "TreatmentPrice",
    "clean_search_terms",
    "clinic_facts_changed",
    "library_content_changed",
    "library_page_cache_key",
]

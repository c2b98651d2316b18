"""The education library's pages: the list (with search) and one article.

The public library and article pages are the same for every visitor: they are kept a short while
in the shared cache under their address (``cached_page``), dropped from it by every change to an
article, topic or question (``library_content_changed``), and marked public for the HTTP caches
in front (see ``clinic.http_cache``). Searches and staff previews, at their own URL, are never cached.
"""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.http import http_date
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from clinic import details
from clinic.http_cache import is_shareable, mark_public, public_page

from .models import (
    Article,
    ArticleTranslation,
    FAQEntry,
    clean_search_terms,
    library_page_cache_key,
    translate_articles,
)
from .search import RESULTS as SEARCH_RESULTS
from .search import library_search
from .services import search_miss_record
from .structured_data import article_structured_data

RELATED_ARTICLES = 3
SPANISH = ArticleTranslation.Language.SPANISH
FAQ_TITLE = _("Frequently Asked Questions")
# Every change to the library drops the cached pages at once; this bounds what a drop can miss:
# a page built from the rows as they were just before a change committed and stored after it,
# one stored before a cache outage during which an edit could not drop it, an article's old
# address after its slug changed, and a release's new templates. Kept at all because rendering
# is what a page costs: rendered at each request, the article served 0.06-0.09x /healthz's
# requests a second at the origin, its p99 2.05x /healthz's at 4 connections and 2.26x at 32
# (bound: 2x); kept, 0.5-0.6x the requests, p99 0.26-0.62x at 4 and 0.78-1.99x at 32
# (docs/benchmarks.md, 8 December 2026).
PAGE_CACHE_SECONDS = 60


def _can_preview(user):
    """Staff who may open the workspace (second factor passed) may preview unpublished articles."""
    is_verified = getattr(user, "is_verified", None)
    return (
        user.is_active
        and user.is_staff
        and (is_verified is None or is_verified())
        and user.has_perm("education.view_article")
    )


def _absolute_media_url(image, site_url):
    if not image:
        return None
    url = image.url
    return f"{site_url}{url}" if url.startswith("/") else url


def in_page_language(articles):
    """The articles with their published translations into the page's language, if it is not English."""
    language = get_language()
    if language == settings.LANGUAGE_CODE:
        return list(articles)
    return translate_articles(articles, language)


def _url_in(language, article):
    with translation.override(language):
        return article.get_absolute_url()


def _by_topic(articles):
    """Group articles (newest first) under their topics, alphabetically; those with none come last."""
    sections = {}
    untopiced = []
    for article in articles:
        topics = list(article.topics.all())
        for topic in topics:
            sections.setdefault(topic, []).append(article)
        if not topics:
            untopiced.append(article)
    grouped = [
        {"topic": topic, "articles": sections[topic]} for topic in sorted(sections, key=lambda t: t.name)
    ]
    if untopiced:
        grouped.append({"topic": None, "articles": untopiced})
    return grouped


def cached_page(request, build):
    """The public page at the request's address from the shared cache, or ``build()`` it and keep it.

    ``build`` returns the response and when it stops being right (the next scheduled publication
    changes every list of published articles), or None. Only what a shared cache may keep is
    kept (``clinic.http_cache.is_shareable``: no cookie, no session, no CSRF token), and never a
    page built for an address with a query string: its links may carry the query (the language
    switch keeps it), which the plain address's page must not.
    """
    if request.META.get("QUERY_STRING"):
        return build()[0]
    key = library_page_cache_key(request.path)
    response = cache.get(key)
    if response is not None:
        return response
    response, stale_at = build()
    timeout = PAGE_CACHE_SECONDS
    if stale_at is not None:
        timeout = min(timeout, int((stale_at - timezone.now()).total_seconds()))
    if timeout > 0 and is_shareable(request, mark_public(response)):
        response["Last-Modified"] = http_date()
        cache.set(key, response, timeout)
    return response


@public_page
@require_safe
def article_list(request):
    terms = clean_search_terms(request.GET.get("q", ""))
    if terms:
        outcome = library_search(terms)
        if not outcome.found:
            search_miss_record(terms=terms)
        context = {
            "terms": terms,
            "search": outcome,
            "results": outcome.results,
            "results_limit": SEARCH_RESULTS,
        }
        response = render(request, "education/article_list.html", context)
        # What someone searched for may say what they live with: kept by no cache.
        patch_cache_control(response, private=True, no_store=True)
        return response

    def build():
        public = Article.objects.published().prefetch_related("topics")
        articles = in_page_language(public.latest_first().with_next_publication())
        # With no article listed, nothing carries the next publication date: not cached.
        stale_at = articles[0].next_publication_at if articles else timezone.now()
        context = {"terms": terms, "sections": _by_topic(articles)}
        return render(request, "education/article_list.html", context), stale_at

    return cached_page(request, build)


@public_page
@require_safe
def article_detail(request, slug):
    return cached_page(request, lambda: _article_page(request, Article.objects.published(), slug))


@require_safe
def article_preview(request, slug):
    """Staff see an article as it is now, drafts included: never from a cache, never into one."""
    if not _can_preview(request.user):
        raise Http404
    return _article_page(request, Article.objects.all(), slug)[0]


def _article_page(request, articles, slug):
    article = get_object_or_404(
        articles.with_next_publication()
        .annotate(
            has_published_translation=Exists(
                ArticleTranslation.objects.published().filter(article=OuterRef("pk"), language=SPANISH)
            )
        )
        .select_related("safety_notice")
        .prefetch_related("topics", Prefetch("faqs", queryset=FAQEntry.objects.order_by("position", "pk"))),
        slug=slug,
    )
    related = in_page_language(Article.objects.published().related_to(article)[:RELATED_ARTICLES])
    english = get_language() == settings.LANGUAGE_CODE
    if not english:
        # The Spanish page: the clinic's reviewed translation, or the English article marked so.
        translate_articles([article], get_language())
    faqs = list(article.faqs.all())
    clinic = details.get()
    hero_image_url = _absolute_media_url(article.hero_image, clinic.site_url)
    context = {
        "article": article,
        "faqs": faqs,
        "contents": article.contents(
            faq_title=FAQ_TITLE if faqs else None,
            safety_title=article.safety_notice.title if article.safety_notice else None,
        ),
        "related": related,
        "is_preview": not article.is_public,
        "hero_image_url": hero_image_url,
        "structured_data": article_structured_data(article, clinic=clinic, image_url=hero_image_url),
        "untranslated": not english and not article.translated,
        "english_page": english,
        "english_url": _url_in(settings.LANGUAGE_CODE, article),
        "spanish_url": _url_in(SPANISH, article),
        # The article's addresses in each language it is published in, for hreflang links.
        "has_translation": article.translated if not english else article.has_published_translation,
    }
    response = render(request, "education/article_detail.html", context)
    if context["is_preview"]:
        # A staff preview of an unpublished article: never cached, never indexed.
        patch_cache_control(response, private=True, no_store=True)
        response["X-Robots-Tag"] = "noindex"
    return response, article.next_publication_at

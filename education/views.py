"""The education library's pages: the list (with search) and one article.

The public library and article pages are the same for every visitor, so they are kept in the
shared cache under the library's content version, which every change to an article, topic or
question replaces (see ``library_content_changed``), and marked public for the HTTP caches in front
(see ``clinic.http_cache``). Searches and staff previews, at their own URL, are never cached.
"""

import hashlib
from functools import cache as memoize

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.http import http_date
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from clinic import details
from clinic.http_cache import public_page

from .models import (
    CONTENT_VERSION_KEY,
    Article,
    ArticleTranslation,
    FAQEntry,
    clean_search_terms,
    library_content_version,
    translate_articles,
)
from .search import RESULTS as SEARCH_RESULTS
from .search import library_search
from .services import search_miss_record
from .structured_data import article_structured_data

RELATED_ARTICLES = 3
SPANISH = ArticleTranslation.Language.SPANISH
FAQ_TITLE = _("Frequently Asked Questions")
# Content changes replace the version at once; this only bounds how long a release that changes
# templates or code, but no static file, keeps serving pages rendered by the one before.
PAGE_CACHE_SECONDS = 10 * 60


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


@memoize
def _release():
    """What, besides the content, a cached page depends on: the static files' names.

    The clinic's facts are content: a change to them makes the library's pages stale.
    """
    return getattr(staticfiles_storage, "manifest_hash", "")


def cached_page(request, name, build):
    """A public page from the shared cache, or ``build()`` it and store it: one round trip on a hit.

    A stored page is served only under the content version it was built with, and says when it
    was built (``Last-Modified``). ``build`` returns the response and when it stops being right
    (the next scheduled publication changes every list of published articles), or None.
    """
    key = f"education:page:{get_language()}:{_release()}:{name}"
    found = cache.get_many([CONTENT_VERSION_KEY, key])
    # The version is read before the database: a page built from older rows is stored under an
    # older version, which never matches again.
    version = found.get(CONTENT_VERSION_KEY) or library_content_version()
    entry = found.get(key)
    if entry is not None and entry["version"] == version:
        response = HttpResponse(entry["content"], content_type=entry["content_type"])
        response["Last-Modified"] = http_date(entry["built_at"])
        return response
    built_at = timezone.now().timestamp()
    response, stale_at = build()
    timeout = PAGE_CACHE_SECONDS
    if stale_at is not None:
        timeout = min(timeout, int((stale_at - timezone.now()).total_seconds()))
    # A page that set a cookie or used a CSRF token belongs to one visitor: never stored.
    personal = response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    if response.status_code == 200 and not personal and timeout > 0:
        entry = {
            "version": version,
            "content": response.content,
            "content_type": response["Content-Type"],
            "built_at": built_at,
        }
        cache.set(key, entry, timeout)
        response["Last-Modified"] = http_date(built_at)
    return response


@public_page
@require_safe
def article_list(request):
    terms = clean_search_terms(request.GET.get("q", ""))
    public = Article.objects.published().prefetch_related("topics")
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
        articles = in_page_language(public.latest_first().with_next_publication())
        # With no article listed, nothing carries the next publication date: not cached.
        stale_at = articles[0].next_publication_at if articles else timezone.now()
        context = {"terms": terms, "sections": _by_topic(articles)}
        return render(request, "education/article_list.html", context), stale_at

    return cached_page(request, "library", build)


@public_page
@require_safe
def article_detail(request, slug):
    # The slug is hashed: one typed into the address bar can be too long for a cache key.
    return cached_page(
        request,
        f"article:{hashlib.sha256(slug.encode()).hexdigest()}",
        lambda: _article_page(request, Article.objects.published(), slug),
    )


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

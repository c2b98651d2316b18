"""The education library's pages: the list (with search) and one article.

The public library and article pages are the same for every visitor, so they are kept in the
shared cache under the library's content version, which every change to an article, topic or
question replaces (see ``library_content_changed``), and marked public for the HTTP caches in front
(see ``clinic.http_cache``). Searches and staff previews, at their own URL, are never cached.
"""

import hashlib
import threading
from functools import cache as memoize

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404, HttpResponse
from django.middleware.gzip import re_accepts_gzip as accepts_gzip
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.utils.text import compress_string
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from clinic import details
from clinic.http_cache import mark_public, public_page

from .models import (
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
# What a stored page holds; a new layout is stored under a new number, never read as the old one.
PAGE_ENTRY_FORMAT = 2
# The stored pages each worker keeps, by key, oldest first: the library's pages and the home page,
# in each language, are well under this, each about 60 KB with its compressed copy.
WORKER_PAGES = 64
_worker_pages = {}
# The key of the page kept for each address it was served at.
_worker_paths = {}
_worker_pages_lock = threading.Lock()


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
    """A public page from the shared cache, or ``build()`` it and store it.

    A stored page is served only under the content version it was built with, and says when it
    was built (``Last-Modified``). It is stored with its ETag and compressed once, so a hit costs
    neither a hash nor a compression. A public page carries no secret, so its stored copy needs
    none of the random padding Django adds against BREACH to every page it compresses itself.
    Each worker also keeps the pages it served (``_worker_pages``): a hit then reads only the
    version from the shared cache, a few bytes instead of the page. ``build`` returns the response
    and when it stops being right (the next scheduled publication changes every list of published
    articles), or None.
    """
    key = f"education:page:{PAGE_ENTRY_FORMAT}:{get_language()}:{_release()}:{name}"
    # The version is read before the database: a page built from older rows is stored under an
    # older version, which never matches again. Without the shared cache there is no version (None)
    # and nothing is kept: an edit could not make a copy stale.
    version = library_content_version()
    now = timezone.now().timestamp()
    entry = _worker_pages.get(key)
    if _is_current(entry, version, now):
        return _stored_response(request, entry)
    entry = cache.get(key) if version is not None else None
    if _is_current(entry, version, now):
        _keep_in_worker(request, key, entry)
        return _stored_response(request, entry)
    response, stale_at = build()
    timeout = PAGE_CACHE_SECONDS
    if stale_at is not None:
        timeout = min(timeout, int(stale_at.timestamp() - now))
    # A page that set a cookie or used a CSRF token belongs to one visitor: never stored. Nor one
    # built for an address with a query string: its links may carry the query (the language switch
    # keeps it), which the plain address's page must not.
    personal = (
        response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or request.META.get("QUERY_STRING")
    )
    if response.status_code == 200 and not personal and timeout > 0:
        content = response.content
        compressed = compress_string(content)
        entry = {
            "version": version,
            "content": content,
            "gzip": compressed if len(compressed) < len(content) else None,
            "etag": f'"{hashlib.md5(content, usedforsecurity=False).hexdigest()}"',
            "content_type": response["Content-Type"],
            "built_at": now,
            "expires_at": now + timeout,
        }
        cache.set(key, entry, timeout)
        if version is not None:
            _keep_in_worker(request, key, entry)
        response["Last-Modified"] = http_date(now)
    return response


def _keep_in_worker(request, key, entry):
    """Keep a stored page in this worker, under its key and its address, dropping the oldest kept
    beyond ``WORKER_PAGES`` (an address whose page is dropped finds nothing and goes the long way)."""
    with _worker_pages_lock:
        _worker_pages.pop(key, None)
        _worker_pages[key] = entry
        while len(_worker_pages) > WORKER_PAGES:
            del _worker_pages[next(iter(_worker_pages))]
        _worker_paths.pop(request.path, None)
        _worker_paths[request.path] = key
        while len(_worker_paths) > WORKER_PAGES:
            del _worker_paths[next(iter(_worker_paths))]


def kept_page(request):
    """The page this worker keeps for the request's address, if it is still right; else None.

    The same rule as ``cached_page``'s (the address names the view, its language and its page, so
    the same key), for ``serve_kept_pages``, which asks before the view is found.
    """
    entry = _worker_pages.get(_worker_paths.get(request.path))
    if entry is None or not _is_current(entry, library_content_version(), timezone.now().timestamp()):
        return None
    return mark_public(_stored_response(request, entry))


def _is_current(entry, version, now):
    """Whether a stored page may be served: built under this content version, and not expired."""
    return (
        entry is not None
        and version is not None
        and entry["version"] == version
        and entry["expires_at"] > now
    )


def _stored_response(request, entry):
    """The stored page, gzipped when the browser takes gzip (its ETag then weak, as GZip makes it)."""
    if entry["gzip"] is not None and accepts_gzip.search(request.headers.get("Accept-Encoding", "")):
        response = HttpResponse(entry["gzip"], content_type=entry["content_type"])
        response["Content-Encoding"] = "gzip"
        response["ETag"] = "W/" + entry["etag"]
    else:
        response = HttpResponse(entry["content"], content_type=entry["content_type"])
        response["ETag"] = entry["etag"]
    patch_vary_headers(response, ["Accept-Encoding"])
    response["Last-Modified"] = http_date(entry["built_at"])
    response["Content-Length"] = str(len(response.content))
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

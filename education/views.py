"""The education library's pages: the list (with search) and one article."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from clinic.context_processors import clinic_details

from .models import Article, FAQEntry, clean_search_terms
from .structured_data import article_structured_data

SEARCH_RESULTS = 20
RELATED_ARTICLES = 3
FAQ_TITLE = _("Frequently Asked Questions")


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


@require_safe
def article_list(request):
    terms = clean_search_terms(request.GET.get("q", ""))
    public = Article.objects.published().prefetch_related("topics")
    context = {"terms": terms}
    if terms:
        context["results"] = list(public.search(terms)[:SEARCH_RESULTS])
        context["results_limit"] = SEARCH_RESULTS
    else:
        context["sections"] = _by_topic(public.latest_first())
    return render(request, "education/article_list.html", context)


@require_safe
def article_detail(request, slug):
    preview = _can_preview(request.user)
    articles = Article.objects.all() if preview else Article.objects.published()
    article = get_object_or_404(
        articles.prefetch_related(
            "topics", Prefetch("faqs", queryset=FAQEntry.objects.order_by("position", "pk"))
        ),
        slug=slug,
    )
    related = list(Article.objects.published().related_to(article)[:RELATED_ARTICLES])
    faqs = list(article.faqs.all())
    clinic = clinic_details()
    hero_image_url = _absolute_media_url(article.hero_image, clinic["site_url"])
    context = {
        "article": article,
        "faqs": faqs,
        "contents": article.contents(faq_title=FAQ_TITLE if faqs else None),
        "related": related,
        "is_preview": not article.is_public,
        "hero_image_url": hero_image_url,
        "structured_data": article_structured_data(article, clinic=clinic, image_url=hero_image_url),
    }
    response = render(request, "education/article_detail.html", context)
    if context["is_preview"]:
        # A staff preview of an unpublished article: never cached, never indexed.
        patch_cache_control(response, private=True, no_store=True)
        response["X-Robots-Tag"] = "noindex"
    return response

"""The site's sitemap: the public articles and the pages that stand on their own."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse

from .models import Article, ArticleTranslation

SPANISH = ArticleTranslation.Language.SPANISH


class ClinicSitemap(Sitemap):
    """Addresses on the clinic's canonical host (``CLINIC_SITE_URL``), whatever host was asked.

    Each page in English and in Spanish, each listing the other as its alternate (hreflang).
    """

    i18n = True
    languages = [settings.LANGUAGE_CODE, SPANISH]
    alternates = True
    x_default = True

    def get_protocol(self, protocol=None):
        return urlsplit(settings.CLINIC_SITE_URL).scheme or "https"

    def get_domain(self, site=None):
        return urlsplit(settings.CLINIC_SITE_URL).netloc


class ArticleSitemap(ClinicSitemap):
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        return (
            Article.objects.published()
            .latest_first()
            .only("slug", "updated_at")
            .annotate(
                in_spanish=Exists(
                    ArticleTranslation.objects.published().filter(article=OuterRef("pk"), language=SPANISH)
                )
            )
        )

    def get_languages_for_item(self, item):
        # An article without a published translation has one address: the Spanish site's copy of
        # it is the English text, which the English page's address stands for.
        return self.languages if item.in_spanish else [settings.LANGUAGE_CODE]

    def lastmod(self, item):
        return item.updated_at


class PageSitemap(ClinicSitemap):
    """Home, the library, the clinic's facts pages, the consultation's start and the privacy notice.

    Home and the library change with the articles; the facts pages with the clinic's facts.
    """

    changefreq = "weekly"
    priority = 0.6

    def items(self):
        return [
            "home",
            "education:article_list",
            "costs",
            "what_to_expect",
            "appointments:booking_start",
            "privacy",
        ]

    def location(self, item):
        return reverse(item)

    def lastmod(self, item):
        if item not in {"home", "education:article_list"}:
            return None
        if not hasattr(self, "_articles_updated"):
            self._articles_updated = Article.objects.published().aggregate(latest=Max("updated_at"))["latest"]
        return self._articles_updated


SITEMAPS = {"pages": PageSitemap, "articles": ArticleSitemap}

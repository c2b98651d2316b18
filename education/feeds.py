"""The education library's Atom feed: the latest published articles."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from .models import Article

FEED_SIZE = 20


def _absolute(path):
    """Links on the clinic's canonical host, as the sitemap and the pages' canonical URLs."""
    return settings.CLINIC_SITE_URL.rstrip("/") + path


class LatestArticlesFeed(Feed):
    feed_type = Atom1Feed
    description = _("New and updated articles about ketamine treatment, for patients and families.")

    def title(self):
        return _("Articles from %(clinic)s") % {"clinic": settings.CLINIC_NAME}

    def link(self):
        return _absolute(reverse("education:article_list"))

    def feed_url(self):
        return _absolute(reverse("education:feed"))

    def author_name(self):
        return settings.CLINIC_NAME

    def items(self):
        return Article.objects.published().latest_first()[:FEED_SIZE]

    def item_link(self, item):
        return _absolute(item.get_absolute_url())

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.summary

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

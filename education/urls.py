from django.urls import path
from django.views.decorators.http import require_safe

from clinic.http_cache import public_page

from . import feeds, views

app_name = "education"

urlpatterns = [
    path("", views.article_list, name="article_list"),
    path("feed/", public_page(require_safe(feeds.LatestArticlesFeed())), name="feed"),
    path("<slug:slug>/", views.article_detail, name="article_detail"),
    path("<slug:slug>/preview/", views.article_preview, name="article_preview"),
]

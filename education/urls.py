from django.urls import path

from . import feeds, views

app_name = "education"

urlpatterns = [
    path("", views.article_list, name="article_list"),
    path("feed/", feeds.LatestArticlesFeed(), name="feed"),
    path("<slug:slug>/", views.article_detail, name="article_detail"),
]

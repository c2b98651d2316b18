"""The site's URLs plus /bench/baseline/: a minimal page that renders a template after one query."""

from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from clinic.urls import handler400, handler403, handler500
from clinic.urls import urlpatterns as site_urlpatterns
from education.models import Article


@require_safe
def baseline(request):
    article = Article.objects.only("title", "summary").order_by("pk").first()
    return render(request, "bench/baseline.html", {"article": article})


urlpatterns = [path("bench/baseline/", baseline, name="bench_baseline"), *site_urlpatterns]

__all__ = ["handler400", "handler403", "handler500", "urlpatterns"]

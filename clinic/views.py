"""Pages that belong to the site as a whole rather than to one app."""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from education.models import Article
from education.structured_data import clinic_structured_data
from education.views import cached_page, in_page_language

from . import details
from .health import UNAVAILABLE, readiness_report
from .http_cache import public_page
from .middleware import unavailable_response

FEATURED_ARTICLES = 3


@public_page
@require_safe
def home(request):
    def build():
        featured = in_page_language(
            Article.objects.published().latest_first().with_next_publication()[:FEATURED_ARTICLES]
        )
        context = {
            "featured_articles": featured,
            "structured_data": clinic_structured_data(details.get()),
        }
        # The next scheduled publication changes the featured articles: the cached page stops there.
        stale_at = featured[0].next_publication_at if featured else timezone.now()
        return render(request, "home.html", context), stale_at

    # The home page lists the library's articles and the clinic's facts, whose changes drop it
    # from the cache with the library's pages.
    return cached_page(request, build)


@public_page
@require_safe
def costs(request):
    return render(request, "costs.html")


@public_page
@require_safe
def what_to_expect(request):
    return render(request, "what_to_expect.html")


@public_page
@require_safe
def privacy(request):
    return render(request, "privacy.html")


@public_page
@require_safe
def robots_txt(request):
    sitemap_url = settings.CLINIC_SITE_URL.rstrip("/") + reverse("sitemap")
    return render(request, "robots.txt", {"sitemap_url": sitemap_url}, content_type="text/plain")


@never_cache
@require_safe
def healthz(request):
    """Liveness and readiness for a load balancer: 200 when PostgreSQL answers, 503 when not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_safe
def readyz(request):
    """Readiness, dependency by dependency: 503 without PostgreSQL, "degraded" when another one is down."""
    report = readiness_report()
    return JsonResponse(report, status=503 if report["status"] == UNAVAILABLE else 200)


@require_safe
def unavailable(request):
    """The "try again or call" page, for nginx to show in place of its own 502 or 504: an app
    server died under a request nginx may not send to another one (a Send it may have saved)."""
    return unavailable_response()


@never_cache
@require_safe
def staff_session_keepalive(request):
    """Renews a signed-in staff session (it is saved on every request): 204, or 403 once it has ended."""
    user = request.user
    if user.is_authenticated and user.is_staff and user.is_verified():
        return HttpResponse(status=204)
    return HttpResponse(status=403)


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    # The reason is for developers; the person sees what to do next.
    return render(request, "403_csrf.html", status=403)


def server_error(request):
    return render(request, "500.html", status=500)

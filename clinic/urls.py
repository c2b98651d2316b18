"""The site's URL map. Public paths are stable: e-mails and search engines link to them."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap as sitemap_view
from django.urls import include, path
from django.views.decorators.http import require_safe
from two_factor.urls import urlpatterns as two_factor_urls

from appointments.feeds import clinician_calendar_feed
from education.sitemaps import SITEMAPS

from . import staff_views, views
from .http_cache import public_page

# The patient's pages: in English at these addresses, in Spanish under /es/ (the language comes from
# the address alone: clinic.middleware.language_from_path).
urlpatterns = i18n_patterns(
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("costs/", views.costs, name="costs"),
    path("what-to-expect/", views.what_to_expect, name="what_to_expect"),
    path("learn/", include("education.urls")),
    path("consultation/", include("appointments.urls")),
    # What nginx shows when an app server dies under a request (deploy/nginx.conf's error_page).
    path("unavailable/", views.unavailable, name="unavailable"),
    prefix_default_language=False,
)

urlpatterns += [
    path("calendar/<str:token>.ics", clinician_calendar_feed, name="clinician_calendar_feed"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("sitemap.xml", public_page(require_safe(sitemap_view)), {"sitemaps": SITEMAPS}, name="sitemap"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path(
        f"{settings.ADMIN_URL}session/keepalive/",
        views.staff_session_keepalive,
        name="staff_session_keepalive",
    ),
    # Staff log in, enrol a second factor and print backup codes under the admin's address; the
    # clinic's own login check runs first, and a set-password link leads to the person's own form.
    path(f"{settings.ADMIN_URL}account/login/", staff_views.login),
    path(f"{settings.ADMIN_URL}account/two_factor/setup/", staff_views.StaffSetupView.as_view()),
    path(
        f"{settings.ADMIN_URL}account/set-password/<uidb64>/<token>/",
        staff_views.StaffSetPasswordView.as_view(),
        name="staff_set_password",
    ),
    path(settings.ADMIN_URL, include(two_factor_urls)),
    path(settings.ADMIN_URL, admin.site.urls),
]

if settings.DEBUG:
    # Uploaded article images in development; production serves them from its storage.
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "clinic.views.bad_request"
handler403 = "clinic.views.permission_denied"
handler500 = "clinic.views.server_error"

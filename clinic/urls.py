"""The site's URL map. Public paths are stable: e-mails and search engines link to them."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = settings.CLINIC_NAME
admin.site.site_title = settings.CLINIC_NAME
admin.site.index_title = "Staff workspace"

urlpatterns = [
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("learn/", include("education.urls")),
    path("consultation/", include("appointments.urls")),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("healthz", views.healthz, name="healthz"),
    path(settings.ADMIN_URL, admin.site.urls),
]

handler500 = "clinic.views.server_error"

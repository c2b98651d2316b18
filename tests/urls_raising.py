"""A URLconf with a view that fails, to see the branded 500 page."""

from django.urls import include, path

from clinic.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("a deliberate failure")


urlpatterns = [path("boom/", boom), path("", include(site_urlpatterns))]
handler500 = "clinic.views.server_error"

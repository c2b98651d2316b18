"""A URLconf with a view that fails, to see the branded 500 page."""

from django.urls import path

from clinic.urls import urlpatterns as site_urlpatterns


def boom(request):
    raise RuntimeError("a deliberate failure")


# The site's patterns as they are: Django refuses language-prefixed patterns inside include().
urlpatterns = [path("boom/", boom), *site_urlpatterns]
handler500 = "clinic.views.server_error"

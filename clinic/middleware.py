"""Response headers Django has no setting for, and the site's page for a refused method."""

from django.conf import settings
from django.shortcuts import render


def security_headers(get_response):
    """Add Permissions-Policy and Cross-Origin-Resource-Policy to every response."""

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.headers.setdefault(
            "Cross-Origin-Resource-Policy", settings.SECURE_CROSS_ORIGIN_RESOURCE_POLICY
        )
        return response

    return middleware


def branded_method_not_allowed(get_response):
    """Show the site's page on a 405: Django's ``require_http_methods`` answers with an empty body."""

    def middleware(request):
        response = get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            branded = render(request, "405.html", status=405)
            branded["Allow"] = response["Allow"]
            return branded
        return response

    return middleware

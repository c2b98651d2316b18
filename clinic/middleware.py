"""Response headers Django has no setting for."""

from django.conf import settings


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

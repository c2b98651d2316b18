"""What the patient's pages share."""

from django.shortcuts import render


def private(response):
    """Pages reached by an unguessable link stay out of caches and search engines."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def too_many_requests(request):
    response = render(request, "429.html", status=429)
    response["Retry-After"] = "600"
    return response

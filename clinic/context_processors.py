"""Template context shared by every page: who the clinic is and how to reach it."""

from functools import cache

import phonenumbers
from django.conf import settings


@cache
def _phone(number):
    parsed = phonenumbers.parse(number, "US")
    return {
        "display": phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        "tel": phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
    }


def clinic_details():
    """The clinic's name, phone (for display and for ``tel:`` links) and address."""
    phone = _phone(settings.CLINIC_PHONE)
    return {
        "name": settings.CLINIC_NAME,
        "phone": phone["display"],
        "phone_tel": phone["tel"],
        "address": settings.CLINIC_ADDRESS,
        "site_url": settings.CLINIC_SITE_URL.rstrip("/"),
    }


def clinic(request):
    return {"clinic": clinic_details()}

"""The staff workspace: Django's admin, opened only to staff who passed two-factor login."""

from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from two_factor.admin import AdminSiteOTPRequiredMixin

from appointments.selectors import consultation_request_dashboard
from education.models import SearchMiss

# The dashboard's list of searches that found nothing: the most frequent.
SEARCH_MISSES_SHOWN = 10


class ClinicAdminSite(AdminSiteOTPRequiredMixin, admin.AdminSite):
    site_header = settings.CLINIC_NAME
    site_title = settings.CLINIC_NAME
    index_title = _("Staff workspace")
    index_template = "admin/clinic_index.html"
    # The request list needs the width more than a second menu beside it.
    enable_nav_sidebar = False

    def each_context(self, request):
        # For the warning before the idle logout (templates/admin/clinic/session_timeout.html).
        return {
            **super().each_context(request),
            "session_idle_seconds": settings.SESSION_COOKIE_AGE,
            "session_idle_minutes": max(1, settings.SESSION_COOKIE_AGE // 60),
            "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
        }

    def index(self, request, extra_context=None):
        # The consultation desk's dashboard, for staff who may see the requests.
        extra_context = extra_context or {}
        if request.user.has_perm("appointments.view_consultationrequest"):
            now = timezone.now()
            extra_context.update(dashboard=consultation_request_dashboard(now=now), dashboard_now=now)
        if request.user.has_perm("education.view_searchmiss"):
            extra_context["search_misses"] = SearchMiss.objects.all()[:SEARCH_MISSES_SHOWN]
        return super().index(request, extra_context)

    def login(self, request, extra_context=None):
        # A staff member who gave the right password but has no second factor yet is
        # sent to enrol one; everybody else goes through the two-factor login.
        user = request.user
        if user.is_active and user.is_staff and not user.is_verified():
            from django_otp import user_has_device

            if not user_has_device(user):
                return redirect("two_factor:setup")
        return super().login(request, extra_context)

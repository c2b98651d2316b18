"""The staff workspace: Django's admin, opened only to staff who passed two-factor login."""

import json
from functools import wraps

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import BadRequest, FieldDoesNotExist
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from two_factor.admin import AdminSiteOTPRequiredMixin

from appointments.models import ConsultationRequest
from appointments.roles import CALENDAR_PERMISSION
from appointments.selectors import consultation_request_dashboard
from appointments.services import consultation_requests_record_list
from appointments.slots import appointments_outside_hours
from education.models import SearchMiss

# The dashboard's list of searches that found nothing: the most frequent.
SEARCH_MISSES_SHOWN = 10


def _autocompletes(request):
    """The model an autocomplete request looks up, or None."""
    try:
        source = apps.get_model(request.GET["app_label"], request.GET["model_name"])
        return source._meta.get_field(request.GET["field_name"]).remote_field.model
    except (KeyError, LookupError, AttributeError, FieldDoesNotExist):
        return None


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
            dashboard = consultation_request_dashboard(now=now)
            extra_context.update(dashboard=dashboard, dashboard_now=now)
            # Its lists name requests (since closing, the oldest not yet contacted): audited.
            shown = [item.pk for item in dashboard.since_closing]
            if dashboard.oldest_uncontacted is not None:
                shown.append(dashboard.oldest_uncontacted.pk)
            consultation_requests_record_list(
                by=request.user,
                where=_g("Dashboard"),
                filters={},
                search_terms="",
                rows=len(shown),
                shown=shown,
            )
        if request.user.has_perm(CALENDAR_PERMISSION):
            # Listed until moved: nobody is left booked when nobody is there.
            extra_context["conflicts"] = appointments_outside_hours(now=timezone.now())
        if request.user.has_perm("education.view_searchmiss"):
            extra_context["search_misses"] = SearchMiss.objects.all()[:SEARCH_MISSES_SHOWN]
        return super().index(request, extra_context)

    def get_urls(self):
        # "View on site" only for models whose admin offers it: a request's own page is the
        # patient's, behind their secret link.
        urls = super().get_urls()
        for index, pattern in enumerate(urls):
            if getattr(pattern, "name", None) == "view_on_site":
                urls[index] = path(
                    str(pattern.pattern), self.admin_view(self.view_on_site), name="view_on_site"
                )
        return urls

    def view_on_site(self, request, content_type_id, object_id):
        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except ContentType.DoesNotExist:
            raise Http404 from None
        model_admin = self._registry.get(model)
        if model_admin is None or not model_admin.view_on_site:
            raise Http404
        return contenttype_views.shortcut(request, content_type_id, object_id)

    def autocomplete_view(self, request):
        response = super().autocomplete_view(request)
        # A look-up that shows requests is audited like a search of the list.
        if response.status_code == 200 and _autocompletes(request) is ConsultationRequest:
            results = json.loads(response.content)["results"]
            consultation_requests_record_list(
                by=request.user,
                where=gettext("Autocomplete"),
                filters={},
                search_terms=request.GET.get("term", ""),
                rows=len(results),
                shown=[int(result["id"]) for result in results],
            )
        return response

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def refuse_nul(request, *args, **kwargs):
            # PostgreSQL refuses a NUL in any text it is given: a filter, a search or an
            # autocomplete term holding one is a bad request, not a server error.
            if any("\x00" in item for key, values in request.GET.lists() for item in [key, *values]):
                raise BadRequest("NUL in the query string")
            return inner(request, *args, **kwargs)

        return refuse_nul

    def login(self, request, extra_context=None):
        # A staff member who gave the right password but has no second factor yet is
        # sent to enrol one; everybody else goes through the two-factor login.
        user = request.user
        if user.is_active and user.is_staff and not user.is_verified():
            from django_otp import user_has_device

            if not user_has_device(user):
                return redirect("two_factor:setup")
        return super().login(request, extra_context)

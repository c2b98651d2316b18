"""The model of time in the staff workspace: clinicians with their hours, consultation kinds, the calendar.

Clinic admins edit every clinician; a clinician edits their own weekly hours and time off, and
reads the rest. Saving hours or time off over booked appointments lists the appointments now
outside the clinician's working time, so that nobody is left booked when nobody is there.
"""

import datetime

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..models import AvailabilityException, Clinician, ConsultationKind, WeeklyHours
from ..models.booking import LICENSABLE_STATES
from ..roles import CALENDAR_PERMISSION, CLINICIANS_PERMISSION
from ..services.audit import appointments_record_list
from ..slots import appointments_outside_hours
from ..staff_calendar import VIEWS, calendar_days, time_zone_label

CALENDAR_YEARS = (2000, 2100)


class ClinicianAdminForm(forms.ModelForm):
    licensed_states = forms.MultipleChoiceField(
        label=_("Licensed in"),
        choices=LICENSABLE_STATES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Patients are offered this clinician only from these states."),
    )

    class Meta:
        model = Clinician
        fields = [
            "user",
            "display_name",
            "credentials",
            "photo",
            "kinds",
            "licensed_states",
            "telehealth_instructions",
            "is_active",
            "is_sample",
        ]
        widgets = {"kinds": forms.CheckboxSelectMultiple}


class LabelledInlineFormSet(BaseInlineFormSet):
    """A table's inputs have no <label> of their own: name each for screen readers."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for name, field in form.fields.items():
            field.widget.attrs.setdefault("aria-label", str(field.label or name).capitalize())


def _may_edit_hours(request, clinician) -> bool:
    """Clinic admins edit anybody's hours; a clinician their own."""
    return (
        clinician is None
        or request.user.has_perm(CLINICIANS_PERMISSION)
        or clinician.user_id == request.user.pk
    )


class OwnHoursInlineMixin:
    formset = LabelledInlineFormSet
    formfield_overrides = {models.TimeField: {"widget": widgets.AdminTimeWidget(format="%H:%M")}}

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and _may_edit_hours(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _may_edit_hours(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _may_edit_hours(request, obj)


class WeeklyHoursInline(OwnHoursInlineMixin, admin.TabularInline):
    model = WeeklyHours
    extra = 0
    fields = ["weekday", "starts", "ends"]
    verbose_name_plural = _("weekly hours (in the clinic's time zone)")


class AvailabilityExceptionInline(OwnHoursInlineMixin, admin.TabularInline):
    model = AvailabilityException
    extra = 0
    fields = ["date", "kind", "starts", "ends", "note"]
    verbose_name_plural = _("time off and extra hours (from a week ago on)")

    def get_queryset(self, request):
        # The past stays in the table, out of the way.
        since = timezone.localdate() - datetime.timedelta(days=7)
        return super().get_queryset(request).filter(date__gte=since)


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    form = ClinicianAdminForm
    list_display = [
        "display_name",
        "credentials",
        "states_display",
        "kinds_display",
        "is_active",
        "is_sample",
    ]
    list_filter = ["is_active", "is_sample"]
    search_fields = ["display_name", "user__username"]
    inlines = [WeeklyHoursInline, AvailabilityExceptionInline]
    actions = ["renew_calendar_feeds"]
    change_form_template = "admin/appointments/clinician/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("kinds")

    def has_change_permission(self, request, obj=None):
        if super().has_change_permission(request, obj):
            return True
        # A clinician saves their own page, for its hours and time off.
        return (
            obj is not None
            and obj.user_id == request.user.pk
            and request.user.has_perm("appointments.change_weeklyhours")
        )

    def get_readonly_fields(self, request, obj=None):
        if request.user.has_perm(CLINICIANS_PERMISSION):
            return []
        return ClinicianAdminForm.Meta.fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = (
                get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("licensed in"))
    def states_display(self, obj):
        return ", ".join(obj.licensed_states) or "–"

    @admin.display(description=_("consultation kinds"))
    def kinds_display(self, obj):
        return ", ".join(kind.name for kind in obj.kinds.all()) or "–"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(CLINICIANS_PERMISSION):
            actions.pop("renew_calendar_feeds", None)
        return actions

    @admin.action(
        description=_("Give the selected clinicians new calendar feed addresses (the old stop working)")
    )
    def renew_calendar_feeds(self, request, queryset):
        count = 0
        for clinician in queryset:
            services.clinician_calendar_feed_renew(clinician=clinician)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d calendar feed address renewed.",
                "%(count)d calendar feed addresses renewed.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        outside = appointments_outside_hours(clinician=form.instance, now=timezone.now())
        if outside:
            # The message names their requests: a list like any other.
            appointments_record_list(
                by=request.user,
                where=_g("Outside working time of %(name)s, after saving")
                % {"name": form.instance.display_name},
                appointments=outside,
            )
            # A link to the list where each is moved: rendered from a template, so escaped there.
            self.message_user(
                request,
                render_to_string(
                    "admin/appointments/clinician/conflicts_message.html",
                    {
                        "count": len(outside),
                        "name": form.instance.display_name,
                        "outside": outside,
                        "conflicts_url": reverse("admin:appointments_clinician_conflicts"),
                    },
                ).strip(),
                messages.WARNING,
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        clinician = self.get_object(request, object_id)
        extra_context = extra_context or {}
        outside = []
        if clinician is not None:
            if clinician.user_id == request.user.pk or request.user.has_perm(CLINICIANS_PERMISSION):
                feed = reverse("clinician_calendar_feed", args=[clinician.calendar_feed_token])
                extra_context["feed_url"] = settings.CLINIC_SITE_URL.rstrip("/") + feed
            outside = appointments_outside_hours(clinician=clinician, now=timezone.now())
            extra_context["outside_hours"] = outside
            extra_context["can_open_requests"] = request.user.has_perm(
                "appointments.view_consultationrequest"
            )
        response = super().change_view(request, object_id, form_url, extra_context)
        if outside and response.status_code == 200:
            # The page was shown (not a redirect after saving): so was its list of requests.
            appointments_record_list(
                by=request.user,
                where=_g("Outside working time of %(name)s") % {"name": clinician.display_name},
                appointments=outside,
            )
        return response

    # --- The calendar ------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "calendar/",
                self.admin_site.admin_view(self.calendar_view),
                name="appointments_clinician_calendar",
            ),
            path(
                "conflicts/",
                self.admin_site.admin_view(self.conflicts_view),
                name="appointments_clinician_conflicts",
            ),
            *super().get_urls(),
        ]

    def calendar_view(self, request):
        """Day or week, one clinician or the whole clinic: booked appointments and free time."""
        if not request.user.has_perm(CALENDAR_PERMISSION):
            raise PermissionDenied
        view = request.GET.get("view")
        if view not in VIEWS:
            view = "week"
        try:
            day = datetime.date.fromisoformat(request.GET.get("date", ""))
        except ValueError:
            day = timezone.localdate()
        if not CALENDAR_YEARS[0] <= day.year <= CALENDAR_YEARS[1]:
            day = timezone.localdate()
        if view == "week":
            day -= datetime.timedelta(days=day.weekday())
        clinicians = list(Clinician.objects.filter(is_active=True))
        selected = None
        chosen = request.GET.get("clinician", "")
        if chosen.isdigit():
            selected = next((c for c in clinicians if c.pk == int(chosen)), None)
        step = datetime.timedelta(days=VIEWS[view])
        show_names = request.user.has_perm("appointments.view_consultationrequest")
        days = calendar_days(
            first_day=day, days=VIEWS[view], clinician=selected, show_names=show_names, active=clinicians
        )
        conflicts = appointments_outside_hours(now=timezone.now())
        _record_calendar(request, view=view, first_day=day, selected=selected, days=days, names=show_names)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Calendar"),
            "view": view,
            "first_day": day,
            "previous_day": day - step,
            "next_day": day + step,
            "today": timezone.localdate(),
            "clinicians": clinicians,
            "selected": selected,
            "days": days,
            "zone_label": time_zone_label(),
            "can_open_requests": show_names,
            "conflicts": conflicts,
        }
        return TemplateResponse(request, "admin/appointments/calendar.html", context)

    def conflicts_view(self, request):
        """Every booked appointment now outside its clinician's working time, each with a way to move it.

        They stay here (and on the calendar and the dashboard) until moved, cancelled, or the
        hours change back: nobody is left booked when nobody is there.
        """
        if not request.user.has_perm(CALENDAR_PERMISSION):
            raise PermissionDenied
        conflicts = appointments_outside_hours(now=timezone.now())
        appointments_record_list(
            by=request.user, where=_g("Appointments outside working time"), appointments=conflicts
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Appointments outside working time"),
            "conflicts": conflicts,
            "zone_label": time_zone_label(),
            "can_open_requests": request.user.has_perm("appointments.view_consultationrequest"),
            "can_move": request.user.has_perm("appointments.change_consultationrequest"),
            "move_reason": services.MoveReason.CLINICIAN_UNAVAILABLE,
        }
        return TemplateResponse(request, "admin/appointments/conflicts.html", context)


def _record_calendar(request, *, view, first_day, selected, days, names):
    """The calendar shows requests by reference (and name): audited as a list of the booked ones."""
    where = _g("Calendar week") if view == "week" else _g("Calendar day")
    if names:
        where = _g("%(view)s, references and names") % {"view": where}
    else:
        where = _g("%(view)s, references") % {"view": where}
    filters = {"from": first_day.isoformat()}
    if selected is not None:
        filters["clinician"] = str(selected.pk)
    appointments_record_list(
        by=request.user,
        where=where,
        filters=filters,
        appointments=[
            item.appointment
            for calendar_day in days
            for column in calendar_day.columns
            for item in column.items
            if item.kind == "booked"
        ],
    )


@admin.register(ConsultationKind)
class ConsultationKindAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "length_display",
        "buffers_display",
        "notice_display",
        "horizon_display",
        "modality",
        "is_active",
        "is_sample",
    ]
    list_filter = ["is_active", "modality"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "modality", "is_active"]}),
        (
            _("Time"),
            {
                "fields": [
                    "duration_minutes",
                    "buffer_before_minutes",
                    "buffer_after_minutes",
                    "interval_minutes",
                    "minimum_notice_minutes",
                    "horizon_days",
                ]
            },
        ),
        (_("Sample data"), {"fields": ["is_sample"], "classes": ["collapse"]}),
    ]

    @admin.display(description=_("length"), ordering="duration_minutes")
    def length_display(self, obj):
        return f"{obj.duration_minutes} min"

    @admin.display(description=_("buffers before / after"))
    def buffers_display(self, obj):
        return f"{obj.buffer_before_minutes} / {obj.buffer_after_minutes} min"

    @admin.display(description=_("bookable ahead"), ordering="horizon_days")
    def horizon_display(self, obj):
        return ngettext("%(days)d day", "%(days)d days", obj.horizon_days) % {"days": obj.horizon_days}

    @admin.display(description=_("minimum notice"), ordering="minimum_notice_minutes")
    def notice_display(self, obj):
        hours, minutes = divmod(obj.minimum_notice_minutes, 60)
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"

"""The request list's own filters: open requests, mine, clinician flags and PHQ-9 bands."""

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import ConsultationRequest, IntakeState

Status = ConsultationRequest.Status

# The PHQ-9's standard severity bands, as score ranges.
PHQ9_BANDS = {
    "minimal": (_("Minimal (0–4)"), 0, 4),
    "mild": (_("Mild (5–9)"), 5, 9),
    "moderate": (_("Moderate (10–14)"), 10, 14),
    "moderately_severe": (_("Moderately severe (15–19)"), 15, 19),
    "severe": (_("Severe (20–27)"), 20, 27),
}


class StatusFilter(admin.SimpleListFilter):
    """By status. Without one the list shows the open requests, the morning's queue, unless it is
    searched: a search looks through every request."""

    title = _("status")
    parameter_name = "status"
    OPEN = "open"
    ALL = "all"

    def __init__(self, request, params, model, model_admin):
        self.searching = bool(request.GET.get(SEARCH_VAR))
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [(self.OPEN, _("Open (new, contacted or scheduled)")), (self.ALL, _("All")), *Status.choices]

    def value(self):
        value = super().value()
        if value is None:
            return self.ALL if self.searching else self.OPEN
        return value

    def choices(self, changelist):
        # Django's own "All" would drop the parameter, which here means "open".
        return list(super().choices(changelist))[1:]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.OPEN:
            return queryset.open()
        if value in Status.values:
            return queryset.filter(status=value)
        return queryset


class AssignedFilter(admin.SimpleListFilter):
    title = _("assigned to")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", _("Me")), ("nobody", _("Nobody"))]

    def queryset(self, request, queryset):
        match self.value():
            case "me":
                return queryset.filter(assigned_to=request.user)
            case "nobody":
                return queryset.filter(assigned_to__isnull=True)
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    """New requests past their first-contact deadline, or those the on-call staff hear about."""

    title = _("first contact")
    parameter_name = "contact_due"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("attention", _("Needs attention (urgent or overdue)"))]

    def queryset(self, request, queryset):
        match self.value():
            case "overdue":
                return queryset.overdue(now=timezone.now())
            case "attention":
                return queryset.needing_attention(now=timezone.now())
        return queryset


class FlagFilter(admin.SimpleListFilter):
    """Requests with one clinician flag (for staff who may see screening answers)."""

    title = _("clinician flag")
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return ConsultationRequest.Flag.choices

    def queryset(self, request, queryset):
        if self.value() in ConsultationRequest.Flag.values:
            return queryset.filter(flags__contains=[self.value()])
        return queryset


class Phq9BandFilter(admin.SimpleListFilter):
    """Requests by PHQ-9 severity band (for staff who may see screening answers)."""

    title = _("PHQ-9 band")
    parameter_name = "phq9"

    def lookups(self, request, model_admin):
        return [
            *((key, label) for key, (label, _low, _high) in PHQ9_BANDS.items()),
            ("none", _("No score (not all nine answered)")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(phq9_score__isnull=True)
        if value in PHQ9_BANDS:
            _label, low, high = PHQ9_BANDS[value]
            return queryset.filter(phq9_score__range=(low, high))
        return queryset


class IntakeFilter(admin.SimpleListFilter):
    """By where the clinical intake stands (for every staff member: a state, not an answer)."""

    title = _("clinical intake")
    parameter_name = "intake"

    def lookups(self, request, model_admin):
        return IntakeState.choices

    def queryset(self, request, queryset):
        if self.value() in IntakeState.values:
            return queryset.with_intake_state(self.value())
        return queryset

"""The form on a request's page: status, assignment, a new note, and the consultation's booking.

The patient's answers are read-only and not part of it. Saving does not save the request
itself: ``ConsultationRequestAdmin.save_model`` hands what changed to the services.
"""

import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Appointment, CallAttempt, ClinicalDecision, Clinician, ConsultationRequest
from ..services import consultation_request_status_refusal

Status = ConsultationRequest.Status
SCHEDULING_FIELDS = [
    "appointment_date",
    "appointment_time",
    "appointment_duration",
    "appointment_modality",
    "appointment_location",
    "appointment_instructions",
    "appointment_clinician",
    "appointment_outside_hours",
]
# Only for clinic admins (``roles.may_book_outside_hours``); the admin leaves it out for others.
OVERRIDE_FIELD = "appointment_outside_hours"
DECISION_FIELDS = ["decision_outcome", "decision_reason", "decision_details", "decision_close"]
Decision = ClinicalDecision.Outcome
DURATIONS = [
    (30, _("30 minutes")),
    (45, _("45 minutes")),
    (60, _("1 hour")),
    (90, _("1 hour 30 minutes")),
    (120, _("2 hours")),
]


def clinic_zone_name():
    return settings.TIME_ZONE.replace("_", " ")


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return user.get_full_name() or user.get_username()


class ConsultationRequestAdminForm(forms.ModelForm):
    assigned_to = StaffChoiceField(
        label=_("Assigned to"),
        queryset=get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .order_by("first_name", "username"),
        required=False,
        empty_label=_("Nobody"),
    )
    new_note = forms.CharField(
        label=_("Add a note"),
        required=False,
        max_length=4000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Saved with your name and the time. Notes are never edited or deleted."),
    )
    note_clinicians_only = forms.BooleanField(label=_("Only clinicians may read this note"), required=False)
    call_outcome = forms.ChoiceField(
        label=_("Log a call"),
        choices=[("", _("No call to log")), *CallAttempt.Outcome.choices],
        required=False,
        widget=forms.RadioSelect(attrs={"class": "radiolist inline"}),
        help_text=_("Reaching them marks a new request “Contacted”."),
    )
    decision_outcome = forms.ChoiceField(
        label=_("Your decision"),
        choices=[("", _("No new decision")), *Decision.choices],
        required=False,
        widget=forms.RadioSelect(attrs={"class": "radiolist"}),
        help_text=_("Saved with your name and the time. The front desk sees the decision, not the reason."),
    )
    decision_reason = forms.ChoiceField(
        label=_("Why it is not suitable"),
        choices=[("", _("Choose a reason")), *ClinicalDecision.Reason.choices],
        required=False,
    )
    decision_details = forms.CharField(
        label=_("Details (clinicians only)"),
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    decision_close = forms.BooleanField(
        label=_("Close the request and e-mail the patient"),
        required=False,
        help_text=_(
            "Only with “Not suitable”: the request is declined and the patient receives a kind e-mail, "
            "with no health details, that points to other help."
        ),
    )
    appointment_date = forms.DateField(
        label=_("Date"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    appointment_time = forms.TimeField(
        label=_("Time"),
        required=False,
        input_formats=["%H:%M", "%H:%M:%S"],
        widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"),
    )
    appointment_duration = forms.TypedChoiceField(
        label=_("Length"), choices=DURATIONS, coerce=int, initial=60, required=False
    )
    appointment_modality = forms.ChoiceField(
        label=_("How"),
        choices=Appointment.Modality.choices,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "radiolist inline"}),
    )
    appointment_location = forms.CharField(
        label=_("Location (in person)"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
    )
    appointment_instructions = forms.CharField(
        label=_("Telehealth instructions"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("The video link and how to join. The patient receives these in the invitation."),
    )
    appointment_clinician = forms.ModelChoiceField(
        label=_("Clinician"),
        queryset=Clinician.objects.filter(is_active=True),
        required=False,
        empty_label=_("Nobody yet (the clinic keeps the time)"),
        help_text=_(
            "With a clinician, the time must be inside their working hours and free in their calendar."
        ),
    )
    appointment_outside_hours = forms.BooleanField(
        label=_("Book outside this clinician's hours"),
        required=False,
        help_text=_(
            "Clinic admins only. The time still may not overlap another of the clinician's appointments."
        ),
    )
    cancel_appointment = forms.BooleanField(
        label=_("Cancel the booked consultation"),
        required=False,
        help_text=_("The patient receives the cancellation, and the request goes back to “Contacted”."),
    )

    class Meta:
        model = ConsultationRequest
        fields = ["status", "assigned_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status_target = None
        self.schedule = None
        self.cancel = False
        request = self.instance
        self.booked = (
            request.appointments.filter(status=Appointment.Status.BOOKED).first() if request.pk else None
        )
        zone = clinic_zone_name()
        if "appointment_time" in self.fields:
            self.fields["appointment_time"].label = _("Time (clinic time: %(zone)s)") % {"zone": zone}
            self.fields["appointment_time"].help_text = _(
                "Enter the time as the clinic’s clocks show it (%(zone)s). The patient’s invitation "
                "shows it in their own calendar’s time zone."
            ) % {"zone": zone}
        if "appointment_clinician" in self.fields and request.pk:
            # Those licensed in the patient's state, and whoever has the booking now.
            field = self.fields["appointment_clinician"]
            field.queryset = Clinician.objects.filter(
                Q(pk__in=Clinician.objects.bookable(state=request.state).values("pk"))
                | Q(pk=self.booked.clinician_id if self.booked else None)
            )
        self._set_status_choices()
        self._set_scheduling_initial()

    def _set_status_choices(self):
        if "status" not in self.fields:
            return
        field = self.fields["status"]
        current = self.instance.status
        moves = ConsultationRequest.ALLOWED_TRANSITIONS[current]
        # Every status is valid input, so that a move the workflow forbids gets a message that
        # says why; the menu offers only the allowed ones. A request becomes "scheduled" by
        # booking its consultation below.
        field.choices = Status.choices
        field.widget.choices = [
            (value, label)
            for value, label in Status.choices
            if value == current or (value in moves and value != Status.SCHEDULED)
        ]
        field.help_text = _("Only the moves the workflow allows are offered.")

    def _set_scheduling_initial(self):
        if "appointment_date" not in self.fields:
            return
        if self.booked:
            local = timezone.localtime(self.booked.starts_at, ZoneInfo(settings.TIME_ZONE))
            self.initial.update(
                appointment_date=local.date(),
                appointment_time=local.time().replace(second=0, microsecond=0),
                appointment_duration=self.booked.duration_minutes,
                appointment_modality=self.booked.modality,
                appointment_location=self.booked.location,
                appointment_instructions=self.booked.telehealth_instructions,
                appointment_clinician=self.booked.clinician_id,
                appointment_outside_hours=self.booked.outside_hours_approved,
            )
        else:
            preferred = self.instance.modality
            self.initial.update(
                appointment_duration=60,
                appointment_modality=preferred if preferred in Appointment.Modality.values else "",
                appointment_location=settings.CLINIC_ADDRESS,
            )
            self.fields["cancel_appointment"].disabled = True
        if self.instance.pk and not self.instance.is_open:
            for name in [*SCHEDULING_FIELDS, "cancel_appointment"]:
                if name in self.fields:
                    self.fields[name].disabled = True

    def clean(self):
        cleaned = super().clean()
        self._clean_status(cleaned)
        if "decision_outcome" in self.fields:
            self._clean_decision(cleaned)
        if "appointment_date" in self.fields:
            self._clean_scheduling(cleaned)
        return cleaned

    def _clean_status(self, cleaned):
        target = cleaned.get("status")
        if "status" not in self.changed_data or not target:
            return
        original = ConsultationRequest(pk=self.instance.pk, status=self.initial["status"])
        refusal = consultation_request_status_refusal(consultation_request=original, status=target)
        scheduling_now = target == Status.SCHEDULED and cleaned.get("appointment_date")
        if refusal and not scheduling_now:
            self.add_error("status", refusal)
        elif target != Status.SCHEDULED:
            self.status_target = target

    def _clean_decision(self, cleaned):
        outcome = cleaned.get("decision_outcome")
        if outcome == Decision.NOT_SUITABLE and not cleaned.get("decision_reason"):
            self.add_error("decision_reason", _("Choose the reason it is not suitable."))
        if not cleaned.get("decision_close"):
            return
        if outcome != Decision.NOT_SUITABLE:
            self.add_error("decision_close", _("Only a “Not suitable” decision closes the request."))
        elif self.status_target:
            self.add_error("decision_close", _("Either change the status or close the request, not both."))

    def _clean_scheduling(self, cleaned):
        changed = [name for name in SCHEDULING_FIELDS if name in self.changed_data]
        self.cancel = bool(cleaned.get("cancel_appointment"))
        if self.cancel:
            if changed:
                self.add_error(
                    "cancel_appointment",
                    _("Either change the booking or cancel it, not both at once."),
                )
            return
        if not changed:
            return
        date, time = cleaned.get("appointment_date"), cleaned.get("appointment_time")
        if not date or not time:
            for name, value in [("appointment_date", date), ("appointment_time", time)]:
                if not value and name not in self.errors:
                    self.add_error(name, _("Enter the consultation’s date and time."))
            return
        closing = self.status_target and self.status_target not in ConsultationRequest.OPEN_STATUSES
        if closing:
            self.add_error("status", _("A request being closed cannot be scheduled at the same time."))
            return
        modality = cleaned.get("appointment_modality")
        if not modality:
            self.add_error("appointment_modality", _("Choose in person or telehealth."))
            return
        location = cleaned.get("appointment_location", "")
        instructions = cleaned.get("appointment_instructions", "")
        if modality == Appointment.Modality.IN_PERSON and not location:
            self.add_error("appointment_location", _("Enter where the consultation takes place."))
        if modality == Appointment.Modality.TELEHEALTH and not instructions:
            self.add_error(
                "appointment_instructions", _("Enter the video link and how to join, for the patient.")
            )
        clinician = cleaned.get("appointment_clinician")
        outside_hours = bool(cleaned.get(OVERRIDE_FIELD))
        if outside_hours and clinician is None:
            self.add_error(OVERRIDE_FIELD, _("Choose the clinician whose hours this time is outside."))
        starts_at = self._starts_at(date, time)
        if starts_at is None:
            return
        if Appointment.start_is_past(
            starts_at, booked_starts_at=self.booked.starts_at if self.booked else None
        ):
            self.add_error("appointment_date", Appointment.PAST_START_MESSAGE)
        if self.errors:
            return
        self.schedule = {
            "starts_at": starts_at,
            "duration_minutes": cleaned.get("appointment_duration") or 60,
            "modality": modality,
            "location": location,
            "telehealth_instructions": instructions,
            "clinician": clinician,
            "outside_hours": outside_hours,
        }

    def staff_change(self):
        """What the staff member changed, as the arguments of ``consultation_request_update``."""
        data = self.cleaned_data
        change = {
            "note": data.get("new_note", ""),
            "note_clinicians_only": bool(data.get("note_clinicians_only")),
            "status": self.status_target,
            "cancel_appointment": self.booked if self.cancel else None,
            "schedule": self.schedule,
        }
        if "assigned_to" in self.changed_data:
            change["assignee"] = data["assigned_to"]
        if data.get("call_outcome"):
            change["call_outcome"] = data["call_outcome"]
        if data.get("decision_outcome"):
            change["decision"] = {
                "outcome": data["decision_outcome"],
                "reason": data.get("decision_reason", "")
                if data["decision_outcome"] == Decision.NOT_SUITABLE
                else "",
                "details": data.get("decision_details", ""),
                "close": bool(data.get("decision_close")),
            }
        return change

    def _starts_at(self, date, time):
        """The clinic's local date and time as an aware datetime; None for a time the clocks skip."""
        zone = ZoneInfo(settings.TIME_ZONE)
        naive = datetime.datetime.combine(date, time)
        aware = naive.replace(tzinfo=zone)
        if aware.astimezone(datetime.UTC).astimezone(zone).replace(tzinfo=None) != naive:
            self.add_error(
                "appointment_time",
                _("The clinic’s clocks skip that time (they go forward that night). Choose another time."),
            )
            return None
        return aware

"""Consultation requests in the staff workspace: the queue, one request's page, and the CSV export.

What a staff member sees follows their role (see ``appointments.roles``): without the
``view_screening_answers`` permission there are no screening answers, PHQ-9 or flags on any
path: not in the columns, the page, the search, the filters (lookups in the query string
included) or the export.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from education.models import Article

from .. import services
from ..models import (
    PHQ9_FIELDS,
    PHQ9_ITEMS,
    Appointment,
    ConsultationRequest,
    StatusChange,
)
from ..roles import AUDIT_PERMISSION, can_export, can_view_screening
from .changelist import FirstToLastChangeList
from .display import (
    age,
    checked_list,
    local_datetime,
    paragraphs,
    person_name,
    phone_display,
    with_phone_label,
)
from .export import csv_lines, export_columns
from .filters import AssignedFilter, FlagFilter, Phq9BandFilter, StatusFilter
from .forms import SCHEDULING_FIELDS, ConsultationRequestAdminForm, clinic_zone_name

Status = ConsultationRequest.Status
Flag = ConsultationRequest.Flag

# Short names for the list's flag column; the request's page shows the full ones.
FLAG_SHORT = {
    Flag.SELF_HARM: _("Self-harm"),
    Flag.MANIA: _("Mania"),
    Flag.PSYCHOSIS: _("Psychosis"),
    Flag.CARDIOVASCULAR: _("Heart / BP"),
    Flag.PREGNANCY: _("Pregnancy"),
    Flag.SUBSTANCE_USE: _("Substances"),
    Flag.SEIZURES: _("Seizures"),
    Flag.LIVER: _("Liver"),
    Flag.BLADDER: _("Bladder"),
    Flag.EYE_PRESSURE: _("Eye pressure"),
    Flag.PHQ9_SEVERE: _("PHQ-9 severe"),
}
TREATMENT_FIELDS = ["tried_mood_stabilisers", "tried_therapy", "tried_ect_tms", "tried_ketamine"]
MEDICAL_FIELDS = [
    "high_blood_pressure",
    "heart_disease_or_stroke",
    "psychosis_history",
    "substance_use",
    "seizures",
    "pregnant_or_breastfeeding",
    "liver_disease",
    "bladder_problems",
    "raised_eye_pressure",
]
# Free-text answers a clinician may search; nobody else's search looks in them.
SCREENING_SEARCH_FIELDS = [
    "current_medications",
    "medical_history_other",
    "treatments_other",
    "concern_other",
]
WORK_FIELDS = ["status", "assigned_to", "notes_thread", "new_note"]


def status_transition_action(status, name, description):
    @admin.action(description=description, permissions=["change"])
    def action(modeladmin, request, queryset):
        modeladmin.move_status(request, queryset, status)

    action.__name__ = name
    return action


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(admin.ModelAdmin):
    form = ConsultationRequestAdminForm
    list_display_links = ["reference"]
    list_select_related = ["assigned_to"]
    list_per_page = 50
    # One COUNT per page, not two: "N of M" needs a second count over the whole table.
    show_full_result_count = False
    date_hierarchy = "created_at"
    search_help_text = _("Search by reference, name, e-mail or phone number.")
    ordering = ["-is_urgent", "-created_at"]
    view_on_site = False
    save_on_top = True
    actions = [
        "assign_to_me",
        status_transition_action(Status.CONTACTED, "mark_contacted", _("Mark as contacted")),
        status_transition_action(Status.COMPLETED, "mark_completed", _("Mark as completed")),
        status_transition_action(Status.DECLINED, "mark_declined", _("Mark as declined")),
        status_transition_action(
            Status.CANCELLED_BY_STAFF, "mark_cancelled_by_staff", _("Mark as cancelled by staff")
        ),
        status_transition_action(
            Status.CANCELLED_BY_PATIENT, "mark_cancelled_by_patient", _("Mark as cancelled by the patient")
        ),
        status_transition_action(Status.SPAM, "mark_spam", _("Mark as spam")),
    ]

    # --- Who sees what ---------------------------------------------------------------------

    def has_add_permission(self, request):
        # Requests come from patients, through the form.
        return False

    def has_delete_permission(self, request, obj=None):
        # Closed requests are anonymised by the retention command, never deleted by hand.
        return False

    def get_changelist(self, request, **kwargs):
        return FirstToLastChangeList

    def get_list_display(self, request):
        columns = ["reference", "received", "status_badge", "urgency", "patient", "contact_by"]
        if can_view_screening(request.user):
            columns.insert(4, "flag_list")
        return [*columns, "assigned"]

    def get_list_filter(self, request):
        filters = [StatusFilter, "is_urgent", AssignedFilter, "created_at", "modality"]
        if can_view_screening(request.user):
            filters += ["concern", FlagFilter, Phq9BandFilter]
        return filters

    def get_search_fields(self, request):
        fields = ["reference", "first_name", "last_name", "email", "phone"]
        if can_view_screening(request.user):
            fields += SCREENING_SEARCH_FIELDS
        return fields

    def lookup_allowed(self, lookup, value, request=None):
        # Django's admin accepts any lookup on the model's own fields in the query string
        # (?current_medications__icontains=...). Only the filters this user is shown may be
        # used: anything else is refused with a 400.
        if request is None or lookup.split(LOOKUP_SEP, 1)[0] not in self._filter_names(request):
            return False
        return super().lookup_allowed(lookup, value, request)

    def _filter_names(self, request):
        names = {self.date_hierarchy}
        for item in self.get_list_filter(request):
            if isinstance(item, str):
                names.add(item)
            elif isinstance(item, (list, tuple)):
                names.add(item[0])
            else:
                names.add(item.parameter_name)
        return names

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Phone numbers are stored as +12125550199; staff type them as (212) 555-0199.
        digits = "".join(char for char in search_term if char.isdigit())
        if len(digits) >= 7 and not any(char.isalpha() for char in search_term):
            results |= queryset.filter(phone__icontains=digits)  # icontains: the trigram index
        return results, may_have_duplicates

    def get_fieldsets(self, request, obj=None):
        screening = can_view_screening(request.user)
        summary = ["reference", "received", "urgency", "current_appointment"]
        if screening:
            summary = ["flags_panel", "phq9_summary", *summary, "source_article"]
        work = [*WORK_FIELDS, "note_clinicians_only"] if screening else WORK_FIELDS
        fieldsets = [
            (_("Summary"), {"fields": summary, "classes": ["request-summary"]}),
            (_("Work on this request"), {"fields": work}),
            (
                _("Consultation"),
                {
                    "fields": [*SCHEDULING_FIELDS, "cancel_appointment"],
                    "description": _(
                        "Booking it e-mails the patient a calendar invitation; any change e-mails an update "
                        "of the same event. Times are the clinic’s (%(zone)s)."
                    )
                    % {"zone": clinic_zone_name()},
                },
            ),
            (
                _("Contact details"),
                {
                    "fields": [
                        "first_name",
                        "last_name",
                        "email_link",
                        "phone_link",
                        "contact_method",
                        "contact_times_display",
                        "contact_permissions",
                    ]
                },
            ),
            (_("About the patient"), {"fields": ["date_of_birth_and_age", "state"]}),
        ]
        if screening:
            fieldsets += [
                (_("What they would like help with"), {"fields": ["concern", "concern_other", "episode"]}),
                (_("Safety"), {"fields": ["self_harm_answer"]}),
                (
                    _("Treatments tried"),
                    {"fields": ["antidepressant_trials", "treatments_tried", "treatments_other"]},
                ),
                (
                    _("Medicines and health"),
                    {"fields": ["current_medications", "medical_history", "medical_history_other"]},
                ),
                (_("PHQ-9"), {"fields": ["phq9_answers"]}),
            ]
        preferences = ["modality", "treatment_preference"] if screening else ["modality"]
        fieldsets += [
            (_("Preferences"), {"fields": preferences}),
            (
                _("Payment, and how they found us"),
                {"fields": ["payment", "insurance_carrier", "heard_about", "heard_about_other"]},
            ),
            (_("Consents"), {"fields": ["consents"], "classes": ["collapse"]}),
            (_("Status history"), {"fields": ["status_history"]}),
            (_("Record"), {"fields": self._record_fields(request), "classes": ["collapse"]}),
        ]
        return fieldsets

    def _record_fields(self, request):
        fields = ["created_at", "updated_at", "closed_at", "anonymised_at"]
        if request.user.has_perm(AUDIT_PERMISSION):
            fields.append("audit_trail_link")
        return fields

    def get_readonly_fields(self, request, obj=None):
        editable = {*WORK_FIELDS, "note_clinicians_only", *SCHEDULING_FIELDS, "cancel_appointment"}
        editable.discard("notes_thread")
        return [
            name
            for _name, options in self.get_fieldsets(request, obj)
            for name in options["fields"]
            if name not in editable
        ]

    # --- The list's columns ----------------------------------------------------------------

    def action_checkbox(self, obj):
        # Django renders this box through the form renderer's templates, once per row: a fifth
        # of the list's time. The same markup, written directly.
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )

    @admin.display(description=_("received"), ordering="created_at")
    def received(self, obj):
        local = timezone.localtime(obj.created_at)
        return format_html(
            '<time datetime="{}">{}</time><span class="request-age">{}</span>',
            obj.created_at.isoformat(),
            date_format(local, "M j, H:i"),
            age(timezone.now() - obj.created_at),
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="badge badge--{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description=_("urgency"), ordering="-is_urgent")
    def urgency(self, obj):
        if obj.is_urgent:
            return format_html('<span class="badge badge--urgent">{}</span>', _("Urgent"))
        return _("Routine")

    @admin.display(description=_("flags"))
    def flag_list(self, obj):
        if not obj.flags:
            return "–"
        labels = dict(Flag.choices)
        return format_html_join(
            " ",
            '<span class="flag" title="{}">{}</span>',
            ((labels.get(code, code), FLAG_SHORT.get(code, code)) for code in obj.flags),
        )

    @admin.display(description=_("patient"), ordering="last_name")
    def patient(self, obj):
        # The name, and the number to call under it: one column, so the list fits a laptop.
        return format_html(
            '{} {}<span class="request-phone">{}</span>', obj.first_name, obj.last_name, self.phone_link(obj)
        )

    @admin.display(description=_("contact by"), ordering="contact_method")
    def contact_by(self, obj):
        return with_phone_label(_("Contact by"), obj.get_contact_method_display())

    @admin.display(description=_("phone number"))
    def phone_link(self, obj):
        if not obj.phone:
            return "–"
        return format_html('<a href="tel:{}" class="nowrap">{}</a>', obj.phone, phone_display(obj.phone))

    @admin.display(description=_("assigned to"), ordering="assigned_to__first_name")
    def assigned(self, obj):
        return with_phone_label(_("Assigned to"), person_name(obj.assigned_to) if obj.assigned_to_id else "–")

    # --- One request's page ----------------------------------------------------------------

    @admin.display(description=_("clinician flags"))
    def flags_panel(self, obj):
        if not obj.flags:
            return format_html('<p class="flags-none">{}</p>', _("No flags raised by the answers."))
        return format_html(
            '<ul class="flag-list">{}</ul>',
            format_html_join(
                "",
                '<li class="flag flag--{}">{}</li>',
                ((code, label) for code, label in zip(obj.flags, obj.get_flags_display(), strict=True)),
            ),
        )

    @admin.display(description=_("PHQ-9 score"))
    def phq9_summary(self, obj):
        if obj.phq9_score is None:
            return _("Not answered")
        return format_html("<strong>{}</strong> / 27 · {}", obj.phq9_score, capfirst(obj.phq9_band))

    @admin.display(description=_("came from article"))
    def source_article(self, obj):
        if not obj.source_article_slug:
            return "–"
        title = Article.objects.filter(slug=obj.source_article_slug).values_list("title", flat=True).first()
        url = reverse("education:article_detail", kwargs={"slug": obj.source_article_slug})
        return format_html('<a href="{}">{}</a>', url, title or obj.source_article_slug)

    @admin.display(description=_("consultation"))
    def current_appointment(self, obj):
        booked = [a for a in obj.appointments.all() if a.status == Appointment.Status.BOOKED]
        if not booked:
            return _("Not booked")
        appointment = booked[0]
        return format_html(
            "{} · {}", local_datetime(appointment.starts_at), appointment.get_modality_display()
        )

    @admin.display(description=_("notes"))
    def notes_thread(self, obj):
        notes = obj.notes.select_related("author")
        if not getattr(obj, "viewer_sees_screening", False):
            notes = notes.filter(clinicians_only=False)
        items = [
            format_html(
                '<li class="note{}"><p class="note__meta"><strong>{}</strong> · '
                '<time datetime="{}">{}</time>{}</p><div class="note__text">{}</div></li>',
                " note--clinical" if note.clinicians_only else "",
                person_name(note.author),
                note.created_at.isoformat(),
                local_datetime(note.created_at),
                format_html(' · <span class="note__tag">{}</span>', _("clinicians only"))
                if note.clinicians_only
                else "",
                paragraphs(note.text),
            )
            for note in notes
        ]
        if not items:
            return _("No notes yet.")
        return format_html(
            '<ol class="note-thread">{}</ol>', format_html_join("", "{}", ((item,) for item in items))
        )

    @admin.display(description=_("status history"))
    def status_history(self, obj):
        changes = list(obj.status_changes.select_related("changed_by"))
        if not changes:
            return format_html("{} · {}", obj.get_status_display(), _("since the request arrived"))
        rows = format_html_join(
            "",
            '<tr><td><time datetime="{}">{}</time></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    change.created_at.isoformat(),
                    local_datetime(change.created_at),
                    change.get_from_status_display(),
                    change.get_to_status_display(),
                    person_name(change.changed_by)
                    if change.source == StatusChange.Source.STAFF
                    else change.get_source_display(),
                    change.note or "",
                )
                for change in changes
            ),
        )
        return format_html(
            '<table class="status-history"><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            _("When"),
            _("From"),
            _("To"),
            _("Who"),
            _("Note"),
            rows,
        )

    @admin.display(description=_("e-mail address"))
    def email_link(self, obj):
        return format_html('<a href="mailto:{}">{}</a>', obj.email, obj.email)

    @admin.display(description=_("good times to contact"))
    def contact_times_display(self, obj):
        labels = dict(ConsultationRequest.ContactTime.choices)
        return ", ".join(str(labels.get(code, code)) for code in obj.contact_times) or _("Any time")

    @admin.display(description=_("may we"))
    def contact_permissions(self, obj):
        return format_html(
            "{}: {} · {}: {}",
            _("leave a voicemail"),
            _("yes") if obj.voicemail_ok else _("no"),
            _("send texts"),
            _("yes") if obj.text_ok else _("no"),
        )

    @admin.display(description=_("date of birth"))
    def date_of_birth_and_age(self, obj):
        today = timezone.localdate()
        born = obj.date_of_birth
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return format_html("{} ({})", date_format(born, "N j, Y"), _("age %(age)d") % {"age": age})

    @admin.display(description=_("current thoughts of self-harm"))
    def self_harm_answer(self, obj):
        if obj.self_harm_thoughts:
            return format_html('<span class="badge badge--urgent">{}</span>', _("Yes"))
        return _("No")

    @admin.display(description=_("treatments tried"))
    def treatments_tried(self, obj):
        return checked_list(obj, TREATMENT_FIELDS)

    @admin.display(description=_("medical history"))
    def medical_history(self, obj):
        return checked_list(obj, MEDICAL_FIELDS)

    @admin.display(description=_("answers"))
    def phq9_answers(self, obj):
        if obj.phq9_score is None:
            return _("Not answered")
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}. {}</th><td>{}</td></tr>',
            (
                (number, item, getattr(obj, f"get_{name}_display")())
                for number, (name, item) in enumerate(zip(PHQ9_FIELDS, PHQ9_ITEMS, strict=True), start=1)
            ),
        )
        return format_html(
            '<table class="phq9"><tbody>{}</tbody><tfoot><tr><th scope="row">{}</th><td>{} / 27 · {}</td>'
            "</tr></tfoot></table>",
            rows,
            _("Score"),
            obj.phq9_score,
            capfirst(obj.phq9_band),
        )

    @admin.display(description=_("consents"))
    def consents(self, obj):
        return checked_list(obj, ["consent_privacy", "consent_contact", "consent_not_emergency"])

    @admin.display(description=_("audit trail"))
    def audit_trail_link(self, obj):
        url = reverse("admin:appointments_auditevent_changelist") + f"?q={obj.reference}"
        return format_html('<a href="{}">{}</a>', url, _("Who has opened or changed this request"))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # The read-only displays have no request: they learn the viewer's role from the object.
            obj.viewer_sees_screening = can_view_screening(request.user)
        return obj

    # --- Saving: every change goes through the services -------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            with transaction.atomic():
                if "assigned_to" in form.changed_data:
                    services.consultation_request_assign(
                        consultation_request=obj, assignee=data["assigned_to"], by=request.user
                    )
                if data.get("new_note"):
                    services.staff_note_create(
                        consultation_request=obj,
                        author=request.user,
                        text=data["new_note"],
                        clinicians_only=bool(data.get("note_clinicians_only"))
                        and can_view_screening(request.user),
                    )
                if form.status_target:
                    services.consultation_request_set_status(
                        consultation_request=obj, status=form.status_target, by=request.user
                    )
                if form.cancel and form.booked:
                    services.appointment_cancel(appointment=form.booked, by=request.user)
                if form.schedule:
                    services.appointment_schedule(consultation_request=obj, by=request.user, **form.schedule)
        except ValidationError as error:
            # Someone else changed the request since this page was opened.
            request._consultation_request_refused = True
            self.message_user(request, " ".join(error.messages), messages.ERROR)

    def save_related(self, request, form, formsets, change):
        """Nothing: the services saved everything there is."""

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        if getattr(request, "_consultation_request_refused", False) and level == messages.SUCCESS:
            return
        super().message_user(request, message, level, *args, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "title": _("Consultation request")}
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = response.context_data.get("original")
            if obj is not None:
                services.consultation_request_record_view(
                    consultation_request=obj, by=request.user, with_screening=obj.viewer_sees_screening
                )
        return response

    # --- Bulk actions ----------------------------------------------------------------------

    def move_status(self, request, queryset, status):
        moved, unchanged, refused = 0, 0, []
        for consultation_request in queryset.select_related(None).only("pk", "reference", "status"):
            if consultation_request.status == status:
                unchanged += 1
                continue
            try:
                services.consultation_request_set_status(
                    consultation_request=consultation_request, status=status, by=request.user
                )
            except ValidationError as error:
                refused.append(f"{consultation_request.reference}: {' '.join(error.messages)}")
            else:
                moved += 1
        label = Status(status).label
        if moved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d request moved to “%(status)s”.",
                    "%(count)d requests moved to “%(status)s”.",
                    moved,
                )
                % {"count": moved, "status": label},
                messages.SUCCESS,
            )
        if unchanged:
            self.message_user(
                request,
                ngettext(
                    "%(count)d request was already “%(status)s”.",
                    "%(count)d requests were already “%(status)s”.",
                    unchanged,
                )
                % {"count": unchanged, "status": label},
                messages.INFO,
            )
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        count = 0
        for consultation_request in queryset.select_related(None).only("pk", "reference", "assigned_to"):
            services.consultation_request_assign(
                consultation_request=consultation_request, assignee=request.user, by=request.user
            )
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d request assigned to you.", "%(count)d requests assigned to you.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    # --- CSV export of the filtered list ---------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="{}_{}_export".format(*info)),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": _("Consultation requests"),
            "can_export": can_export(request.user),
        }
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """The list as filtered and searched on screen, as CSV; each exported request is audited."""
        if not (self.has_view_permission(request) and can_export(request.user)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:appointments_consultationrequest_changelist"))
        queryset = changelist.get_queryset(request)
        screening = can_view_screening(request.user)
        rows = list(queryset.values_list("pk", "reference"))
        services.consultation_requests_record_export(requests=rows, by=request.user, with_screening=screening)
        # Exactly the requests recorded as exported, streamed in the list's order.
        exported = queryset.filter(pk__in=[pk for pk, _reference in rows]).select_related("assigned_to")
        lines = csv_lines(exported, export_columns(screening=screening))
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="consultation-requests-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response

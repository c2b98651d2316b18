"""Consultation requests in the staff workspace: the queue, one request's page, and the CSV export.

What a staff member sees follows their role (see ``appointments.roles``): without the
``view_screening_answers`` permission there are no screening answers, PHQ-9 or flags on any
path: not in the columns, the page, the search, the filters (lookups in the query string
included) or the export.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clinic.staff_work import RestoresUnsavedWork
from education.models import Article

from .. import questionnaire, services, targets
from ..models import Appointment, Clinician, ConsultationKind, ConsultationRequest, StatusChange
from ..questionnaire import FLAG_SHORT, PHQ9_FIELDS, PHQ9_ITEMS
from ..roles import AUDIT_PERMISSION, can_decide, can_export, can_view_screening, may_book_outside_hours
from .changelist import FirstToLastChangeList
from .display import age, link, local_datetime, person_name, phone_display, ticked_labels
from .export import csv_lines, export_columns
from .filters import (
    AssignedFilter,
    FlagFilter,
    IntakeFilter,
    OverdueFilter,
    Phq9BandFilter,
    StatusFilter,
)
from .forms import (
    DECISION_FIELDS,
    OVERRIDE_FIELD,
    SCHEDULING_FIELDS,
    ConsultationRequestAdminForm,
    clinic_zone_name,
)
from .open_times import open_times_panel, parse_slot_value

Status = ConsultationRequest.Status
Flag = ConsultationRequest.Flag
WORK_FIELDS = ["status", "assigned_to", "new_note"]
# What the front desk needs to make the call, at the top of the page.
CONTACT_FIRST = [
    "patient_name",
    "phone_link",
    "email_link",
    "contact_method",
    "contact_times_display",
    "contact_permissions",
    "current_appointment",
    "intake_state",
    "call_history",
    "received",
    "language",
]
TEMPLATES = "admin/appointments/consultationrequest"


def render(template, **context):
    """A piece of the list or the page, from its template under ``templates/admin/...``."""
    return render_to_string(f"{TEMPLATES}/{template}.html", context)


def labelled(label, value):
    """A cell's value, with its column's name before it where the list is shown as cards (phones)."""
    return render("cells/labelled", label=label, value=value)


class ChangeRefused(Exception):  # noqa: N818 (not an error: a service said no)
    """A service refused what a staff member saved on a request's page."""

    def __init__(self, form, error):
        super().__init__(error.messages)
        self.form = form
        self.error = error


# The list's query parameters that are not filters: the search (recorded apart), page and order.
LIST_NAVIGATION = {"q", "p", "o", "_changelist_filters"}


def status_transition_action(status, name, description):
    @admin.action(description=description, permissions=["change"])
    def action(modeladmin, request, queryset):
        modeladmin.move_status(request, queryset, status)

    action.__name__ = name
    return action


def _time_taken_message(taken):
    nearest = "; ".join(local_datetime(slot.starts_at) for slot in taken.nearest)
    return _("That time has just been taken. The nearest open times: %(times)s.") % {
        "times": nearest or _("none in the next weeks")
    }


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(RestoresUnsavedWork, admin.ModelAdmin):
    form = ConsultationRequestAdminForm
    list_display_links = ["reference"]
    list_select_related = ["assigned_to"]
    list_per_page = 50
    # One COUNT per page, not two: "N of M" needs a second count over the whole table.
    show_full_result_count = False
    date_hierarchy = "created_at"
    search_help_text = _("Search by reference, name, e-mail or phone number.")
    # At most this many requests found by a search are read by key (get_search_results).
    SEARCH_KEYS_KEPT = 500
    ordering = ["-is_urgent", "-created_at"]
    view_on_site = False
    save_on_top = True
    change_form_template = f"{TEMPLATES}/change_form.html"
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
        columns = [
            "reference",
            "received",
            "status_badge",
            "urgency",
            "patient",
            "contact_by",
            "intake",
            "language",
        ]
        if can_view_screening(request.user):
            columns.insert(4, "flag_list")
        return [*columns, "assigned"]

    def get_list_filter(self, request):
        filters = [
            StatusFilter,
            "is_urgent",
            "is_unfinished",
            OverdueFilter,
            AssignedFilter,
            IntakeFilter,
            "created_at",
            "modality",
            "language",
        ]
        if can_view_screening(request.user):
            filters += ["concern", FlagFilter, Phq9BandFilter]
        return filters

    def get_search_fields(self, request):
        # Contact details for everyone; the free-text answers the questionnaire marks as searched,
        # for clinicians.
        searched = questionnaire.visible_questions(screening=can_view_screening(request.user))
        return ["reference", *(question.name for question in searched if question.searched)]

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
        if search_term:
            # A term that few requests match (a reference, a surname) is looked for once, and the
            # page's count, rows and date drill-down read those requests by key. Left as a filter,
            # PostgreSQL reads the date index row by row for the drill-down's first and last date,
            # testing every searched column on each: with 50,000 requests a reference's search took
            # 5.7× the admin's index (make bench-admin), a term nobody matches 0.6 s. A term that
            # many match is found at once in any order, and stays a filter.
            found = list(results.values_list("pk", flat=True)[: self.SEARCH_KEYS_KEPT + 1])
            if len(found) <= self.SEARCH_KEYS_KEPT:
                results = queryset.filter(pk__in=found)
        return results, may_have_duplicates

    def get_fieldsets(self, request, obj=None):
        """Each role's page starts with its job.

        The front desk: who to call and how, what may be said on a voicemail, the booked time and
        any clinician's outcome, then the actions (log the call, status, note, book). A clinician:
        the flags, why it is urgent, the scores and the clinical answers, then the decision, then
        the contact details and the desk's work.
        """
        screening = can_view_screening(request.user)
        urgent = obj is not None and obj.is_urgent
        contact = [*CONTACT_FIRST, "decision_outcome_only" if not screening else None]
        if screening:
            # A clinician reads where the intake stands with the scores, not with the phone number.
            contact.remove("intake_state")
        if urgent and not screening:
            contact.insert(0, "urgent_reason_for_desk")
        contact_fieldset = (
            _("Call the patient"),
            {"fields": [name for name in contact if name], "classes": ["request-contact"]},
        )
        # Which notes the thread shows follows the role: two displays, chosen here.
        notes = "notes_thread_clinical" if screening else "notes_thread"
        work = ["call_outcome", "status", "new_note"]
        if screening:
            work.append("note_clinicians_only")
        work += ["assigned_to", "book_link"]
        if urgent and not screening:
            work.append("urgent_protocol")
        work.append(notes)
        work_fieldset = (_("Work on this request"), {"fields": work, "classes": ["request-work"]})
        booking = (
            _("Book the consultation"),
            {
                "fields": [
                    *(
                        name
                        for name in SCHEDULING_FIELDS
                        if name != OVERRIDE_FIELD or may_book_outside_hours(request.user)
                    ),
                    "cancel_appointment",
                ],
                "classes": ["request-booking"],
                "description": _(
                    "Booking it e-mails the patient a calendar invitation; any change e-mails an update "
                    "of the same event. Times are the clinic’s (%(zone)s)."
                )
                % {"zone": clinic_zone_name()},
            },
        )
        shown = set(CONTACT_FIRST)
        history = (_("Status history"), {"fields": ["status_history"]})
        record = (_("Record"), {"fields": self._record_fields(request), "classes": ["collapse"]})
        if not screening:
            return [
                contact_fieldset,
                work_fieldset,
                booking,
                *self._answer_fieldsets(screening, shown=shown),
                history,
                record,
            ]
        summary = ["flags_panel"]
        if urgent:
            summary += ["urgent_reason_for_clinicians", "urgent_protocol"]
        summary += [
            "intake_state",
            "diagnosis",
            "phq9_summary",
            "phq9_item_9",
            "mdq_summary",
            "source_article",
        ]
        shown.add("diagnosis")
        decision = ["decision_history"]
        if can_decide(request.user):
            decision += DECISION_FIELDS
        return [
            (_("For the clinician"), {"fields": summary, "classes": ["request-summary"]}),
            *self._answer_fieldsets(screening, shown=shown, clinical=True),
            (_("Clinical decision"), {"fields": decision, "classes": ["request-decision"]}),
            contact_fieldset,
            work_fieldset,
            booking,
            *self._answer_fieldsets(screening, shown=shown, clinical=False),
            history,
            record,
        ]

    def _answer_fieldsets(self, screening, *, shown, clinical=None):
        """The questionnaire's sections, with the answers this role may read and that the page has
        not shown already; only the clinical sections (all screening answers), or only the others."""
        visible = {question.name for question in questionnaire.visible_questions(screening=screening)}
        for section in questionnaire.SECTIONS:
            is_clinical = all(q.audience == questionnaire.SCREENING for q in section.questions)
            if clinical is not None and is_clinical != clinical:
                continue
            fields = [
                q.shown_to_staff_as
                for q in section.questions
                if q.name in visible and q.name not in shown and q.shown_to_staff_as not in shown
            ]
            if fields:
                options = {"fields": list(dict.fromkeys(fields))}
                if section.staff_collapsed:
                    options["classes"] = ["collapse"]
                yield (section.staff_legend, options)

    def _record_fields(self, request):
        fields = ["created_at", "updated_at", "closed_at", "anonymised_at"]
        if request.user.has_perm(AUDIT_PERMISSION):
            fields.append("audit_trail_link")
        return fields

    def get_readonly_fields(self, request, obj=None):
        editable = {
            *WORK_FIELDS,
            "note_clinicians_only",
            "call_outcome",
            *DECISION_FIELDS,
            *SCHEDULING_FIELDS,
            "cancel_appointment",
        }
        return [
            name
            for _name, options in self.get_fieldsets(request, obj)
            for name in options["fields"]
            if name not in editable
        ]

    # --- The list's columns ----------------------------------------------------------------

    def action_checkbox(self, obj):
        # Django renders this box through the form renderer's templates, once per row: a fifth
        # of the list's time. The same markup, from one small template.
        return render(
            "cells/action_checkbox",
            name=helpers.ACTION_CHECKBOX_NAME,
            pk=obj.pk,
            label=gettext("Select this object for an action - {}").format(obj),
        )

    @admin.display(description=_("received"), ordering="created_at")
    def received(self, obj):
        return render(
            "cells/received",
            moment=obj.created_at,
            shown=date_format(timezone.localtime(obj.created_at), "M j, H:i"),
            age=age(timezone.now() - obj.created_at),
        )

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return render("cells/status_badge", status=obj.status, label=obj.get_status_display())

    @admin.display(description=_("urgency"), ordering="-is_urgent")
    def urgency(self, obj):
        overdue = obj.is_overdue(now=timezone.now())
        return render(
            "cells/urgency",
            urgent=obj.is_urgent,
            unfinished=obj.is_unfinished,
            overdue=overdue,
            respond_by=obj.respond_by,
        )

    @admin.display(description=_("flags"))
    def flag_list(self, obj):
        labels = dict(Flag.choices)
        flags = [{"label": labels.get(code, code), "short": FLAG_SHORT.get(code, code)} for code in obj.flags]
        return render("cells/flags", flags=flags)

    @admin.display(description=_("patient"), ordering="last_name")
    def patient(self, obj):
        # The name, and the number to call under it: one column, so the list fits a laptop.
        return render(
            "cells/patient",
            first_name=obj.first_name,
            last_name=obj.last_name,
            phone=obj.phone,
            shown_phone=phone_display(obj.phone),
        )

    @admin.display(description=_("contact by"), ordering="contact_method")
    def contact_by(self, obj):
        return labelled(_("Contact by"), obj.get_contact_method_display())

    @admin.display(description=_("phone number"))
    def phone_link(self, obj):
        return render("fields/phone_link", phone=obj.phone, shown_phone=phone_display(obj.phone))

    @admin.display(description=_("intake"), ordering="intake_completed_at")
    def intake(self, obj):
        return labelled(
            _("Intake"),
            render("cells/intake_state", state=obj.intake_state, label=obj.get_intake_state_display()),
        )

    @admin.display(description=_("assigned to"), ordering="assigned_to__first_name")
    def assigned(self, obj):
        return labelled(_("Assigned to"), person_name(obj.assigned_to) if obj.assigned_to_id else "–")

    # --- One request's page ----------------------------------------------------------------

    @admin.display(description=_("patient"))
    def patient_name(self, obj):
        return f"{obj.first_name} {obj.last_name}"

    @admin.display(description=_("calls so far"))
    def call_history(self, obj):
        calls = list(obj.call_attempts.select_related("made_by"))
        for call in calls:
            call.who = person_name(call.made_by)
            call.when = local_datetime(call.created_at)
        return render("fields/call_history", calls=calls)

    @admin.display(description=_("why it is urgent"))
    def urgent_reason_for_desk(self, obj):
        return render("fields/urgent_reason", reasons=[_("clinical urgent: call today")])

    @admin.display(description=_("why it is urgent"))
    def urgent_reason_for_clinicians(self, obj):
        return render("fields/urgent_reason", reasons=obj.urgent_reasons())

    @admin.display(description=_("urgent protocol"))
    def urgent_protocol(self, obj):
        return render("fields/urgent_protocol", protocol=targets.urgent_protocol())

    @admin.display(description=_("PHQ-9 item 9"))
    def phq9_item_9(self, obj):
        return render(
            "fields/phq9_item_9",
            text=PHQ9_ITEMS[8],
            answer=obj.phq9_9,
            label=obj.get_phq9_9_display() if obj.phq9_9 is not None else "",
        )

    @admin.display(description=_("next step"))
    def book_link(self, obj):
        return render("fields/book_link", is_open=obj.is_open)

    def _decisions(self, obj):
        decisions = list(obj.decisions.select_related("decided_by"))
        for decision in decisions:
            decision.who = person_name(decision.decided_by)
            decision.when = local_datetime(decision.created_at)
        return decisions

    @admin.display(description=_("clinician’s decision"))
    def decision_outcome_only(self, obj):
        # The front desk's view: the outcome, who and when; never the reason or the details.
        decisions = self._decisions(obj)
        return render("fields/decision_outcome", decision=decisions[-1] if decisions else None)

    @admin.display(description=_("decisions so far"))
    def decision_history(self, obj):
        return render("fields/decision_history", decisions=self._decisions(obj))

    @admin.display(description=_("clinician flags"))
    def flags_panel(self, obj):
        flags = [
            {"code": code, "label": label}
            for code, label in zip(obj.flags, obj.get_flags_display(), strict=True)
        ]
        return render("fields/flags_panel", flags=flags)

    @admin.display(description=_("PHQ-9 score"))
    def phq9_summary(self, obj):
        return render(
            "fields/phq9_summary", score=obj.phq9_score, band=obj.phq9_band, answered=obj.phq9_answered
        )

    @admin.display(description=_("MDQ"))
    def mdq_summary(self, obj):
        return render("fields/mdq_summary", result=obj.mdq_result(), of=len(questionnaire.MDQ_FIELDS))

    @admin.display(description=_("clinical intake"))
    def intake_state(self, obj):
        moment = obj.intake_completed_at or obj.intake_started_at
        return render(
            "fields/intake_state",
            state=obj.intake_state,
            label=obj.get_intake_state_display(),
            when=local_datetime(moment) if moment else "",
        )

    @admin.display(description=_("came from article"))
    def source_article(self, obj):
        if not obj.source_article_slug:
            return "–"
        title = Article.objects.filter(slug=obj.source_article_slug).values_list("title", flat=True).first()
        url = reverse("education:article_detail", kwargs={"slug": obj.source_article_slug})
        return link(url, title or obj.source_article_slug)

    @admin.display(description=_("consultation"))
    def current_appointment(self, obj):
        booked = [a for a in obj.appointments.all() if a.status == Appointment.Status.BOOKED]
        appointment = booked[0] if booked else None
        starts = local_datetime(appointment.starts_at) if appointment else ""
        return render("fields/current_appointment", appointment=appointment, starts=starts)

    def _notes(self, obj, *, clinical):
        notes = obj.notes.select_related("author")
        if not clinical:
            notes = notes.filter(clinicians_only=False)
        for note in notes:
            note.author_name = person_name(note.author)
            note.created = local_datetime(note.created_at)
            note.lines = [line for line in note.text.splitlines() if line.strip()]
            yield note

    @admin.display(description=_("notes"))
    def notes_thread(self, obj):
        return render("fields/notes_thread", notes=list(self._notes(obj, clinical=False)))

    @admin.display(description=_("notes"))
    def notes_thread_clinical(self, obj):
        return render("fields/notes_thread", notes=list(self._notes(obj, clinical=True)))

    @admin.display(description=_("status history"))
    def status_history(self, obj):
        rows = []
        for change in obj.status_changes.select_related("changed_by"):
            who = (
                person_name(change.changed_by)
                if change.source == StatusChange.Source.STAFF
                else change.get_source_display()
            )
            rows.append(
                {
                    "at": change.created_at,
                    "from": change.get_from_status_display(),
                    "to": change.get_to_status_display(),
                    "who": who,
                    "note": change.note,
                }
            )
        # A clinician's decision is a step in the request's life too: its outcome, for every role.
        for decision in self._decisions(obj):
            outcome = decision.get_outcome_display()
            note = _("Clinical decision: %(outcome)s") % {"outcome": outcome}
            rows.append({"at": decision.created_at, "from": "", "to": "", "who": decision.who, "note": note})
        rows.sort(key=lambda row: row["at"])
        for row in rows:
            row["when"] = local_datetime(row["at"])
        return render("fields/status_history", changes=rows, status=obj.get_status_display())

    @admin.display(description=_("e-mail address"))
    def email_link(self, obj):
        return link(f"mailto:{obj.email}", obj.email)

    @admin.display(description=_("good times to contact"))
    def contact_times_display(self, obj):
        labels = dict(ConsultationRequest.ContactTime.choices)
        return ", ".join(str(labels.get(code, code)) for code in obj.contact_times) or _("Any time")

    @admin.display(description=_("may we"))
    def contact_permissions(self, obj):
        return render("fields/contact_permissions", voicemail_ok=obj.voicemail_ok, text_ok=obj.text_ok)

    @admin.display(description=_("date of birth"))
    def date_of_birth_and_age(self, obj):
        born = obj.date_of_birth
        if born is None:
            return render("fields/not_answered")
        today = timezone.localdate()
        years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return render("fields/date_of_birth", born=born, age=years)

    @admin.display(description=_("recent blood pressure"))
    def blood_pressure(self, obj):
        return render(
            "fields/blood_pressure",
            systolic=obj.blood_pressure_systolic,
            diastolic=obj.blood_pressure_diastolic,
            unknown=obj.blood_pressure_unknown,
            high=questionnaire.blood_pressure_is_high(
                systolic=obj.blood_pressure_systolic, diastolic=obj.blood_pressure_diastolic
            ),
        )

    @admin.display(description=_("answers"))
    def mdq_answers(self, obj):
        items = [
            {"text": text, "answer": getattr(obj, name)}
            for name, text in zip(questionnaire.MDQ_FIELDS, questionnaire.MDQ_ITEMS, strict=True)
        ]
        return render(
            "fields/mdq_answers",
            stem=questionnaire.MDQ_STEM,
            items=items,
            same_period=obj.mdq_same_period,
            problem=obj.get_mdq_problem_display(),
            result=obj.mdq_result(),
            of=len(questionnaire.MDQ_FIELDS),
        )

    @admin.display(description=_("current thoughts of self-harm"))
    def self_harm_answer(self, obj):
        return render("fields/self_harm_answer", answer=obj.self_harm_thoughts)

    @admin.display(description=_("treatments tried"))
    def treatments_tried(self, obj):
        names = questionnaire.QUESTIONS["treatments_tried"].column_names
        return render("fields/ticked", ticked=ticked_labels(obj, names))

    @admin.display(description=_("medical history"))
    def medical_history(self, obj):
        names = questionnaire.QUESTIONS["medical_history"].column_names
        return render("fields/ticked", ticked=ticked_labels(obj, names))

    @admin.display(description=_("answers"))
    def phq9_answers(self, obj):
        items = [
            {"text": text, "answer": getattr(obj, f"get_{name}_display")()}
            for name, text in zip(PHQ9_FIELDS, PHQ9_ITEMS, strict=True)
        ]
        return render(
            "fields/phq9_answers",
            items=items,
            score=obj.phq9_score,
            band=obj.phq9_band,
            answered=obj.phq9_answered,
        )

    @admin.display(description=_("consents"))
    def consents(self, obj):
        return render("fields/ticked", ticked=ticked_labels(obj, questionnaire.CONSENT_FIELDS))

    @admin.display(description=_("audit trail"))
    def audit_trail_link(self, obj):
        url = reverse("admin:appointments_auditevent_changelist") + f"?q={obj.reference}"
        return link(url, _("Who has opened or changed this request"))

    # --- Saving: one service for the whole page ----------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if not may_book_outside_hours(request.user):
            # Not merely hidden: a box posted anyway is not read (and the service would refuse it).
            form = type(form.__name__, (form,), {OVERRIDE_FIELD: None})
        return form

    def save_model(self, request, obj, form, change):
        change = form.staff_change()
        if not can_decide(request.user):
            # The decision's fields are on clinicians' pages only; anything else sent is ignored.
            change.pop("decision", None)
        try:
            saved = services.consultation_request_update(consultation_request=obj, by=request.user, **change)
        except ValidationError as error:
            # Raised out of the admin's transaction: nothing is kept, no LogEntry is written.
            raise ChangeRefused(form, error) from None
        # For the message after saving: whether the patient was sent an invitation or an update.
        before = form.booked
        if saved is not None and (before is None or saved.sequence != before.sequence):
            obj.invitation_sent = saved

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        appointment = getattr(obj, "invitation_sent", None)
        if appointment is not None:
            self._replace_success_message(request, obj, self._booked_message(appointment))
        return response

    def _booked_message(self, appointment):
        values = {
            "when": local_datetime(appointment.starts_at),
            "clinician": appointment.clinician.display_name if appointment.clinician else "",
        }
        if appointment.sequence == 0:
            if appointment.clinician:
                text = _(
                    "Booked %(when)s with %(clinician)s. The patient was e-mailed a calendar invitation."
                )
            else:
                text = _("Booked %(when)s. The patient was e-mailed a calendar invitation.")
        elif appointment.clinician:
            text = _(
                "Changed the booking: now %(when)s with %(clinician)s. "
                "The patient was e-mailed the updated invitation."
            )
        else:
            text = _("Changed the booking: now %(when)s. The patient was e-mailed the updated invitation.")
        return text % values

    def _replace_success_message(self, request, obj, text):
        """Django's "was changed successfully" says nothing of the e-mail: say what happened instead."""
        storage = messages.get_messages(request)
        kept = [message for message in storage if message.level != messages.SUCCESS]
        for message in kept:
            storage.add(message.level, message.message, message.extra_tags)
        self.message_user(request, text, messages.SUCCESS)

    def construct_change_message(self, request, form, formsets, add=False):
        # The history page is open to front desk: a note for clinicians leaves no trace there.
        message = super().construct_change_message(request, form, formsets, add)
        hidden = {"note_clinicians_only"}
        if form.cleaned_data.get("note_clinicians_only"):
            hidden.add("new_note")
        labels = {str(form[name].label) for name in hidden if name in form.fields}
        for entry in message:
            if "changed" in entry:
                entry["changed"]["fields"] = [
                    label for label in entry["changed"]["fields"] if label not in labels
                ]
        return [entry for entry in message if entry.get("changed", {"fields": True})["fields"]]

    def save_related(self, request, form, formsets, change):
        """Nothing: the service saved everything there is."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChangeRefused as refused:
            return self._refused_change_form(request, object_id, form_url, extra_context, refused)

    def _refused_change_form(self, request, object_id, form_url, extra_context, refused):
        """The page again, as the staff member sent it (every typed field kept), with the
        service's reason at the top."""
        obj = self.get_object(request, unquote(object_id))
        form = refused.form
        form.add_error(None, refused.error)
        fieldsets = self.get_fieldsets(request, obj)
        admin_form = helpers.AdminForm(
            form, list(fieldsets), {}, self.get_readonly_fields(request, obj), model_admin=self
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Consultation request"),
            "subtitle": str(obj),
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, change=True, obj=obj, form_url=form_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "title": _("Consultation request")}
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = response.context_data.get("original")
            if obj is not None:
                services.consultation_request_record_view(
                    consultation_request=obj, by=request.user, with_screening=can_view_screening(request.user)
                )
        return response

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            context["open_times"] = open_times_panel(consultation_request=obj, params=request.GET)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- Booking an open time in one click ---------------------------------------------------

    def book_view(self, request, object_id):
        """Book the open time whose button was pressed on the request's page, then back to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        page = reverse("admin:appointments_consultationrequest_change", args=[obj.pk])
        chosen = parse_slot_value(request.POST.get("book_slot", ""))
        kind_pk = request.POST.get("book_kind", "")
        kind = (
            ConsultationKind.objects.filter(pk=kind_pk, is_active=True).first() if kind_pk.isdigit() else None
        )
        modality = request.POST.get("book_modality", "")
        if chosen is None or kind is None or modality not in Appointment.Modality.values:
            self.message_user(
                request, _("That time could not be read. Choose one of the times shown."), messages.ERROR
            )
            return HttpResponseRedirect(page)
        clinician_pk, starts_at = chosen
        clinician = Clinician.objects.filter(pk=clinician_pk).first()
        if clinician is None:
            self.message_user(request, _("That clinician no longer takes bookings."), messages.ERROR)
            return HttpResponseRedirect(page)
        try:
            services.appointment_book(
                consultation_request=obj,
                clinician=clinician,
                kind=kind,
                starts_at=starts_at,
                modality=modality,
                source=services.Source.STAFF,
                by=request.user,
            )
        except services.SlotTaken as taken:
            self.message_user(request, _time_taken_message(taken), messages.ERROR)
            return HttpResponseRedirect(f"{page}?book_kind={kind.pk}")
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(page)
        self.message_user(
            request,
            _("Booked %(when)s with %(clinician)s. The patient was e-mailed a calendar invitation.")
            % {"when": local_datetime(starts_at), "clinician": clinician.display_name},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(page)

    def move_view(self, request, object_id):
        """Move the booked consultation to the open time whose button was pressed, then back to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        page = reverse("admin:appointments_consultationrequest_change", args=[obj.pk])
        appointment = obj.appointments.filter(status=Appointment.Status.BOOKED).first()
        if appointment is None:
            self.message_user(request, _("This request has no booked consultation to move."), messages.ERROR)
            return HttpResponseRedirect(page)
        chosen = parse_slot_value(request.POST.get("move_slot", ""))
        reason = request.POST.get("move_reason", "")
        kind_pk = request.POST.get("book_kind", "")
        kind = (
            ConsultationKind.objects.filter(pk=kind_pk, is_active=True).first() if kind_pk.isdigit() else None
        )
        clinician = Clinician.objects.filter(pk=chosen[0]).first() if chosen else None
        if chosen is None or clinician is None or reason not in services.MoveReason.values:
            self.message_user(
                request, _("That time could not be read. Choose one of the times shown."), messages.ERROR
            )
            return HttpResponseRedirect(page)
        try:
            moved = services.appointment_move(
                appointment=appointment,
                starts_at=chosen[1],
                clinician=clinician,
                kind=kind,
                reason=reason,
                source=services.Source.STAFF,
                by=request.user,
            )
        except services.SlotTaken as taken:
            self.message_user(request, _time_taken_message(taken), messages.ERROR)
            return HttpResponseRedirect(page)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(page)
        self.message_user(
            request,
            _(
                "Moved to %(when)s with %(clinician)s. The patient was e-mailed the updated invitation, "
                "with the reason."
            )
            % {"when": local_datetime(moved.starts_at), "clinician": clinician.display_name},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(page)

    # --- Bulk actions ----------------------------------------------------------------------

    def move_status(self, request, queryset, status):
        report = services.consultation_requests_set_status(
            consultation_requests=queryset.select_related(None).only("pk", "reference", "status"),
            status=status,
            by=request.user,
        )
        label = Status(status).label
        if report.moved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d request moved to “%(status)s”.",
                    "%(count)d requests moved to “%(status)s”.",
                    report.moved,
                )
                % {"count": report.moved, "status": label},
                messages.SUCCESS,
            )
        if report.unchanged:
            self.message_user(
                request,
                ngettext(
                    "%(count)d request was already “%(status)s”.",
                    "%(count)d requests were already “%(status)s”.",
                    report.unchanged,
                )
                % {"count": report.unchanged, "status": label},
                messages.INFO,
            )
        for reference, reason in report.refused:
            self.message_user(request, f"{reference}: {reason}", messages.ERROR)

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        count = services.consultation_requests_assign(
            consultation_requests=queryset.select_related(None).only("pk", "reference", "assigned_to"),
            assignee=request.user,
            by=request.user,
        )
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
            path(
                "<path:object_id>/book/",
                self.admin_site.admin_view(self.book_view),
                name="{}_{}_book".format(*info),
            ),
            path(
                "<path:object_id>/move/",
                self.admin_site.admin_view(self.move_view),
                name="{}_{}_move".format(*info),
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": _("Consultation requests"),
            "can_export": can_export(request.user),
        }
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and changelist is not None:
            services.consultation_requests_record_list(
                by=request.user,
                where=gettext("Request list"),
                filters={
                    name: values for name, values in changelist.params.items() if name not in LIST_NAVIGATION
                },
                search_terms=changelist.query,
                rows=changelist.result_count,
                shown=[obj.pk for obj in changelist.result_list],
            )
        return response

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

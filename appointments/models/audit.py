"""Who saw or changed which request, and when: the clinic's audit trail."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .requests import ConsultationRequest


class AuditEvent(models.Model):
    """One view, change or export of a consultation request.

    Written by the services and the staff workspace, never edited: the admin offers no way to
    add, change or delete one, and a trigger in PostgreSQL refuses updates and deletes (only
    the links to a deleted user or request may be cleared). The description names what
    happened, never a health detail or the patient's contact details.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        CHANGE = "change", _("Changed")
        STATUS = "status", _("Status changed")
        NOTE = "note", _("Note added")
        SCHEDULE = "schedule", _("Scheduling")
        CALL = "call", _("Call attempt")
        DECISION = "decision", _("Clinical decision")
        EXPORT = "export", _("Exported")
        ANONYMISE = "anonymise", _("Anonymised")
        LIST = "list", _("Listed or searched")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    # Kept as text so that the record still says who after a login is deleted.
    actor_label = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    consultation_request = models.ForeignKey(
        ConsultationRequest,
        verbose_name=_("consultation request"),
        related_name="audit_events",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    reference = models.CharField(_("reference"), max_length=12, blank=True)
    description = models.CharField(_("what"), max_length=300)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    # A list's rows (the request list, the calendar, the dashboard, a feed...): which requests it
    # showed. Kept with the event, like the reference; a trigger refuses changes and deletions.
    requests_shown = models.ManyToManyField(
        ConsultationRequest, verbose_name=_("requests shown"), related_name="+", blank=True
    )

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-pk"]
        # Nobody may be given the right to add, change or delete an audit event.
        default_permissions = ["view"]
        indexes = [models.Index(fields=["reference", "-created_at"], name="appt_audit_reference_idx")]

    def __str__(self):
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else ""
        return f"{self.get_action_display()} {self.reference} {when}".strip()


class AuditSearchTerms(models.Model):
    """What a staff member typed into a search of the requests, kept beside its audit event.

    Apart from the event because the terms may be a patient's name: the retention command deletes
    them with the requests they found (and once they are older than the retention period), while
    the event itself (who, when, the filters, how many rows) stays.
    """

    event = models.OneToOneField(
        AuditEvent, verbose_name=_("audit event"), related_name="search_terms", on_delete=models.CASCADE
    )
    terms = models.CharField(_("search terms"), max_length=200)
    requests = models.ManyToManyField(
        ConsultationRequest, verbose_name=_("requests shown"), related_name="+", blank=True
    )

    class Meta:
        verbose_name = _("search terms")
        verbose_name_plural = _("search terms")

    def __str__(self):
        return f"Search terms of audit event {self.event_id}"

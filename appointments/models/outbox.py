"""The e-mail outbox in PostgreSQL that ``manage.py mail_worker`` drains."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .requests import ConsultationRequest


class OutboundEmail(models.Model):
    """One e-mail waiting in, or sent from, the PostgreSQL outbox that ``mail_worker`` drains."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    consultation_request = models.ForeignKey(
        ConsultationRequest,
        verbose_name=_("consultation request"),
        related_name="outbound_emails",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    dedupe_key = models.CharField(
        _("dedupe key"),
        max_length=200,
        unique=True,
        help_text=_("Names the message (e.g. request 12's acknowledgement) so it is queued only once."),
    )
    to = models.EmailField(_("to"), max_length=254)
    template = models.CharField(
        _("template"),
        max_length=60,
        blank=True,
        help_text=_(
            "The e-mail the mail worker renders from the request before its first attempt; "
            "empty for a message queued already written."
        ),
    )
    rendered_at = models.DateTimeField(_("rendered"), null=True, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"), blank=True)
    ics = models.TextField(_("calendar attachment"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_default=models.functions.Now())
    last_error = models.CharField(
        _("last error"), max_length=200, blank=True, help_text=_("The exception's class, never an address.")
    )
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound e-mail")
        verbose_name_plural = _("outbound e-mails")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="appt_outbox_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                # Retention empties the words of messages no longer pending.
                condition=~Q(status="pending") | ~Q(template="") | (~Q(subject="") & ~Q(body="")),
                name="appt_outbox_written_or_template",
                violation_error_message=_("A message to send needs a subject and a body, or a template."),
            ),
        ]

    def __str__(self):
        return f"{self.dedupe_key} ({self.get_status_display()})"

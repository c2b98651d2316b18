"""A booking in progress: the answers of the steps a patient has done, kept until they send them."""

from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .booking import ConsultationKind
from .requests import ConsultationRequest, new_token

# A draft lives this long from its last step, then the expiry job deletes it.
DRAFT_LIFETIME = timedelta(hours=24)
# A draft that reports thoughts of self-harm and has contact details, left this long, reaches staff.
URGENT_DRAFT_AFTER = timedelta(minutes=30)


def draft_expiry():
    return timezone.now() + DRAFT_LIFETIME


class BookingDraft(models.Model):
    """The answers a patient has given so far, a step at a time, before they send the request.

    Found by a random token kept in the patient's browser (its own cookie, which lives as long as
    the draft). Its answers may be health data: they are never logged and are deleted when the
    request is sent or the draft expires. A draft is not a request: nothing reaches staff until
    Send, except a draft with a yes to the safety question left for ``URGENT_DRAFT_AFTER``, which
    becomes an unfinished urgent request (``consultation_request``).
    """

    token = models.CharField(_("token"), max_length=64, unique=True, default=new_token, editable=False)
    # The one-time token of the request it becomes: a resend of the same submission finds it.
    form_token = models.CharField(_("form token"), max_length=64, default=new_token, editable=False)
    answers = models.JSONField(
        _("answers"), default=dict, encoder=DjangoJSONEncoder, help_text=_("Column values, by step.")
    )
    source_article_slug = models.SlugField(_("came from article"), max_length=200, blank=True)
    # The language of the pages the patient answered on: the request and its e-mails use it.
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=ConsultationRequest.Language.choices,
        default=ConsultationRequest.Language.ENGLISH,
    )
    # Who answered, as the rate limits count clients (``clinic.rate_limits.client_key``: an HMAC,
    # never the address): an unfinished request it becomes counts against that client's limit.
    # A database default: a worker of the release before this one saves drafts without it.
    client_key = models.CharField(
        _("client (hashed)"), max_length=65, blank=True, default="", db_default="", editable=False
    )
    reports_self_harm = models.BooleanField(_("reports thoughts of self-harm"), default=False)
    has_contact_details = models.BooleanField(_("has contact details"), default=False)
    consultation_request = models.OneToOneField(
        ConsultationRequest,
        verbose_name=_("unfinished request"),
        related_name="booking_draft",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
    )
    # The open time chosen on the "when" page, booked on Send; none means "call me to find a time".
    chosen_kind = models.ForeignKey(
        ConsultationKind,
        verbose_name=_("chosen consultation kind"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
    )
    chosen_starts_at = models.DateTimeField(_("chosen time"), null=True, blank=True, editable=False)
    # The zone a video patient reads the times in too (an IANA name from ``booking_times``).
    time_zone = models.CharField(_("patient's time zone"), max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last step"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), default=draft_expiry)

    class Meta:
        verbose_name = _("booking draft")
        verbose_name_plural = _("booking drafts")
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["expires_at"], name="appt_draft_expires_idx"),
            # The urgent drafts the periodic job looks for.
            models.Index(
                fields=["updated_at"],
                condition=models.Q(
                    reports_self_harm=True, has_contact_details=True, consultation_request__isnull=True
                ),
                name="appt_draft_urgent_idx",
            ),
        ]

    def __str__(self):
        return f"booking draft {self.pk}" if self.pk else "booking draft"

    def step_answers(self, step):
        return self.answers.get(step, {})

    def all_answers(self):
        """Every answer given so far, as request column values."""
        merged = {}
        for values in self.answers.values():
            merged.update(values)
        return merged

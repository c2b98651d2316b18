"""Safety information an article carries: a separate, clinically reviewed block beside the article's text."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ..rendering import render_markdown
from .articles import LibraryContent, _plain_text


class SafetyNotice(LibraryContent):
    """ "Before you consider ketamine": approval status, who should not have it, risks, whom to ask.

    Kept apart from the article it sits beside, with a clinical reviewer and review dates of its
    own, so that the clinic's own text stays as the clinic wrote it.
    """

    key = models.SlugField(
        _("key"), max_length=100, unique=True, help_text=_("A short name for this block, e.g. ketamine.")
    )
    title = models.CharField(_("title"), max_length=200, default=_("Before you consider ketamine"))
    body = models.TextField(
        _("text"), help_text=_("Markdown. “### ” starts a part; keep it short, plain and balanced.")
    )
    body_html = models.TextField(editable=False, blank=True, default="")
    reviewer_name = models.CharField(_("clinical reviewer"), max_length=200)
    reviewer_credentials = models.CharField(_("reviewer's credentials"), max_length=200, blank=True)
    last_reviewed = models.DateField(_("last reviewed"))
    next_review_due = models.DateField(_("next review due"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("safety information")
        verbose_name_plural = _("safety information")
        constraints = [
            models.CheckConstraint(
                condition=Q(next_review_due__gt=F("last_reviewed")),
                name="education_safetynotice_review_due_after_review",
                violation_error_message=_("The next review must be due after the last review."),
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Its headings take no ids: they must never clash with the article's.
        self.body_html = render_markdown(self.body, anchors=False).html
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.last_reviewed and self.next_review_due and self.next_review_due <= self.last_reviewed:
            raise ValidationError(
                {"next_review_due": _("The next review must be due after the last review.")}
            )

    @property
    def text(self):
        """The block as plain text, for structured data."""
        return _plain_text(self.body_html)

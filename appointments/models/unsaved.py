"""Staff work posted after the session ended, kept for one browser until its user signs in again."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnsavedStaffWork(models.Model):
    """What a staff member's browser posted to the workspace after the idle logout, not yet saved.

    It may hold a note about a patient: it is restored only to the same user in the same browser
    (the hash of a random key kept in that browser's cookie), and deleted when restored or after
    ``UNSAVED_STAFF_WORK_HOURS``, whichever comes first.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member"), related_name="+", on_delete=models.CASCADE
    )
    browser_key_hash = models.CharField(_("browser"), max_length=64)
    path = models.CharField(_("page"), max_length=500)
    data = models.JSONField(_("posted fields"), help_text=_("The form's fields as [name, value] pairs."))
    created_at = models.DateTimeField(_("posted"), auto_now_add=True)

    class Meta:
        verbose_name = _("unsaved staff work")
        verbose_name_plural = _("unsaved staff work")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "browser_key_hash"], name="appt_unsaved_work_owner_idx")]

    def __str__(self):
        return (
            f"unsaved work {self.pk} ({self.created_at:%Y-%m-%d %H:%M})"
            if self.created_at
            else "unsaved work"
        )

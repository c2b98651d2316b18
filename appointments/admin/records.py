"""Records nobody edits by hand: the audit trail and the e-mail outbox."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from ..models import AuditEvent, AuditSearchTerms, OutboundEmail
from .changelist import FirstToLastChangeList
from .display import link


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None
    # One COUNT per page, and no scan of every row for the date hierarchy: these tables only grow.
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return FirstToLastChangeList

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Who opened, changed or exported which request, and when: for clinic admins to read."""

    list_display = ["created_at", "actor_label", "action", "request_link", "description", "searched_for"]
    list_select_related = ["search_terms"]
    list_filter = ["action", "created_at"]
    search_fields = ["=reference", "=actor_label"]
    search_help_text = _("Search by a request's reference (KC-XXXX-XXXX) or a staff member's username.")
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = [
        "created_at",
        "actor_label",
        "action",
        "request_link",
        "description",
        "searched_for",
        "requests_shown_links",
    ]
    readonly_fields = fields

    @admin.display(description=_("searched for"))
    def searched_for(self, obj):
        # Cleared by the retention command with the requests the search found.
        try:
            return obj.search_terms.terms
        except AuditSearchTerms.DoesNotExist:
            return "–"

    @admin.display(description=_("requests shown"))
    def requests_shown_links(self, obj):
        # A list's rows, by reference (on the event's own page only: the list stays one query).
        shown = obj.requests_shown.order_by("pk").only("pk", "reference")
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse("admin:appointments_consultationrequest_change", args=[request.pk]),
                    request.reference,
                )
                for request in shown
            ),
        )
        return links or "–"

    @admin.display(description=_("request"), ordering="reference")
    def request_link(self, obj):
        if not obj.consultation_request_id:
            return obj.reference or "–"
        url = reverse("admin:appointments_consultationrequest_change", args=[obj.consultation_request_id])
        return link(url, obj.reference)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["dedupe_key", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["dedupe_key"]
    date_hierarchy = "created_at"
    # Addresses and bodies stay out of the list and the page.
    fields = ["dedupe_key", "status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at"]
    readonly_fields = fields

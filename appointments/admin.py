"""A first, read-only view of consultation requests and the outbox for staff.

The staff workspace (roles, notes, status workflow, scheduling) builds on this.
"""

from django.contrib import admin

from .models import ConsultationRequest, OutboundEmail


@admin.register(ConsultationRequest)
class ConsultationRequestAdmin(admin.ModelAdmin):
    list_display = ["reference", "created_at", "status", "is_urgent", "contact_method"]
    list_filter = ["status", "is_urgent", "concern", "modality"]
    search_fields = ["reference", "last_name", "email", "phone"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in ConsultationRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["dedupe_key", "status", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["status"]
    search_fields = ["dedupe_key"]
    date_hierarchy = "created_at"
    # Addresses and bodies stay out of the list; the change page is read-only.
    fields = ["dedupe_key", "status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

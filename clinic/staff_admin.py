"""Staff logins in the workspace: one role each, no password page, and nobody's second factor on show.

Django's own user admin lets anyone with ``change_user`` set a password and grant superuser
status, and django-otp's device admins show (and let an admin choose) the secret keys. Here:

- nobody sets another person's password: they get a set-password link by e-mail (``clinic.staff``);
- a clinic admin gives a colleague one of the three roles and nothing else; only a superuser sees
  the superuser, staff and permission fields, and a clinic admin cannot see or act on a superuser;
- authenticator devices have no pages at all: a lost one is removed from the user list (audited),
  and the person enrols a new one at their next sign-in.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.roles import ROLES

from . import staff

User = get_user_model()
DEVICE_PERMISSIONS = ["otp_totp.delete_totpdevice", "otp_static.delete_staticdevice"]


def role_groups():
    return Group.objects.filter(name__in=ROLES).order_by("name")


class StaffRoleForm(forms.ModelForm):
    """A colleague's login as a clinic admin may shape it: names, e-mail, active, and one role."""

    role = forms.ModelChoiceField(queryset=Group.objects.none(), label=_("Role"))

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = role_groups()
        if "email" in self.fields:
            # The set-password link goes to this address.
            self.fields["email"].required = True
        if self.instance.pk:
            self.fields["role"].initial = role_groups().filter(user=self.instance).first()


class StaffUserAdmin(admin.ModelAdmin):
    list_display = ["username", "full_name", "email", "role", "is_active", "authenticator", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    actions = ["send_password_link", "remove_authenticators"]
    form = StaffRoleForm

    def get_queryset(self, request):
        queryset = (
            super()
            .get_queryset(request)
            .prefetch_related("groups")
            .annotate(has_device=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        )
        if not request.user.is_superuser:
            queryset = queryset.filter(is_superuser=False)
        return queryset

    # --- Who may act on whom ---------------------------------------------------------------------

    def _may_act_on(self, request, obj):
        return obj is None or request.user.is_superuser or not obj.is_superuser

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._may_act_on(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_act_on(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_act_on(request, obj)

    def has_reset_device_permission(self, request):
        return request.user.has_perms(DEVICE_PERMISSIONS)

    # --- The form ------------------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and request.user.is_superuser:
            kwargs["form"] = forms.ModelForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        person = ["username", "first_name", "last_name", "email"]
        if obj is None:
            return [(None, {"fields": [*person, "role"]})]
        sign_ins = (_("Sign-ins"), {"fields": ["last_login", "date_joined"]})
        if request.user.is_superuser:
            permissions = ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]
            return [(None, {"fields": person}), (_("Permissions"), {"fields": permissions}), sign_ins]
        return [(None, {"fields": [*person, "is_active", "role"]}), sign_ins]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["last_login", "date_joined"]
        if obj is not None and obj.last_login and not request.user.is_superuser:
            # Once the person has signed in, only a superuser may send their links elsewhere.
            readonly.append("email")
        return readonly

    def save_model(self, request, obj, form, change):
        if not change:
            staff.staff_member_invite(user=obj, role=form.cleaned_data["role"], by=request.user)
            self.message_user(
                request,
                _("%(username)s will get an e-mail with a link to set their password.")
                % {"username": obj.get_username()},
                messages.SUCCESS,
            )
            return
        obj.save()
        if "is_active" in form.changed_data:
            # Switching a login off also replaces its calendar feed address.
            staff.staff_member_active_set(user=obj, active=obj.is_active, by=request.user)
        if "role" in form.changed_data:
            staff.staff_role_set(user=obj, role=form.cleaned_data["role"], by=request.user)

    # --- The list's columns ----------------------------------------------------------------------

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj):
        return obj.get_full_name() or "–"

    @admin.display(description=_("role"))
    def role(self, obj):
        return ", ".join(group.name for group in obj.groups.all() if group.name in ROLES) or "–"

    @admin.display(description=_("authenticator"), boolean=True, ordering="has_device")
    def authenticator(self, obj):
        return obj.has_device

    # --- Actions -------------------------------------------------------------------------------

    @admin.action(description=_("E-mail a link to set a new password"), permissions=["change"])
    def send_password_link(self, request, queryset):
        count = 0
        for user in queryset:
            staff.staff_password_link_send(user=user, by=request.user)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d person will get a link to set a new password and enrol a new authenticator.",
                "%(count)d people will get a link to set a new password and enrol a new authenticator.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Remove their authenticators (a lost phone: they enrol a new one at next sign-in)"),
        permissions=["reset_device"],
    )
    def remove_authenticators(self, request, queryset):
        count = 0
        for user in queryset:
            staff.staff_devices_delete(user=user, by=request.user)
            count += 1
        self.message_user(
            request,
            ngettext(
                "Removed the authenticators of %(count)d person.",
                "Removed the authenticators of %(count)d people.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


def register(site):
    """Put the staff user admin in place of Django's, and take the device admins away."""
    for model in [User, TOTPDevice, StaticDevice]:
        if site.is_registered(model):
            site.unregister(model)
    site.register(User, StaffUserAdmin)

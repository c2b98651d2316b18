"""Staff sign-in pages the clinic adds around django-two-factor-auth's."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN, PasswordResetConfirmView
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from two_factor.views import LoginView, SetupView

from .rate_limits import is_limited
from .staff import staff_password_set

USERNAME_FIELD = "auth-username"
CODE_LABEL = _("6-digit code")
BACKUP_CODE_LABEL = _("Backup code")


class StaffLoginView(LoginView):
    """two-factor-auth's login, asking for the code in the words staff use."""

    def get_prefix(self, request, *args, **kwargs):
        return "login_view"  # the package's own: its step fields keep their names

    def get_form(self, step=None, **kwargs):
        form = super().get_form(step=step, **kwargs)
        if "otp_token" in form.fields:
            backup = (step or self.steps.current) == self.BACKUP_STEP
            form.fields["otp_token"].label = BACKUP_CODE_LABEL if backup else CODE_LABEL
            form.fields["otp_token"].widget.attrs["inputmode"] = "text" if backup else "numeric"
        return form


class StaffSetupView(SetupView):
    """two-factor-auth's enrolment of an authenticator app, in the same words."""

    def get_prefix(self, request, *args, **kwargs):
        return "setup_view"

    def get_form(self, step=None, **kwargs):
        form = super().get_form(step=step, **kwargs)
        if "token" in form.fields:
            form.fields["token"].label = CODE_LABEL
            form.fields["token"].widget.attrs.update(autocomplete="one-time-code", inputmode="numeric")
        return form


_two_factor_login = StaffLoginView.as_view()


def login(request, *args, **kwargs):
    """two-factor-auth's login, with two checks before it.

    A username longer than any login's is refused with a 400 (django-axes could not record the
    attempt). Password attempts from one address meet a limit of their own, higher than one
    person needs, so that trying many usernames from one place slows down: django-axes locks only
    a username at an address, never a whole address, which may be a whole clinic behind one NAT.
    """
    if request.method == "POST" and USERNAME_FIELD in request.POST:
        max_length = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length
        if len(request.POST[USERNAME_FIELD]) > max_length:
            return render(request, "400.html", status=400)
        if is_limited(request, group="clinic.staff_login", rate=settings.STAFF_LOGIN_RATE_LIMIT):
            response = render(request, "429.html", status=429)
            response["Retry-After"] = "600"
            return response
    return _two_factor_login(request, *args, **kwargs)


class StaffSetPasswordView(PasswordResetConfirmView):
    """The page an invitation or a set-password e-mail links to: the person's own new password.

    Django's view moves the token from the address into the session before the form shows. Saving
    removes the person's authenticators: whoever set the password enrols the next one.
    """

    success_url = reverse_lazy("two_factor:login")
    title = _("Set your password")

    def get_context_data(self, **kwargs):
        # The admin's own template, under the clinic's name rather than Django's.
        return super().get_context_data(
            site_header=settings.CLINIC_NAME, site_title=settings.CLINIC_NAME, **kwargs
        )

    def form_valid(self, form):
        staff_password_set(user=form.user, password=form.cleaned_data["new_password1"])
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(
            self.request,
            _("Your password is set. Sign in, then enrol an authenticator app on your phone."),
        )
        return HttpResponseRedirect(self.get_success_url())

"""Staff logins: invitations, set-password links, roles and lost authenticators.

Nobody sets another person's password or chooses their second factor. A clinic admin creates a
login with one role, or asks for a new password, and the person gets a signed, single-use link by
e-mail (Django's password-reset tokens: the token is void once the password changes, and after
``PASSWORD_RESET_TIMEOUT``). Setting a password through the link removes the person's
authenticators, so the next sign-in enrols a new one, on the person's own phone.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _g
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.models import AuditEvent
from appointments.roles import ROLES
from appointments.services.audit import audit_event_record

User = get_user_model()
DEVICE_MODELS = [TOTPDevice, StaticDevice]


def staff_password_link(*, user: AbstractBaseUser) -> str:
    """The absolute, signed link through which ``user`` sets a new password."""
    path = reverse(
        "staff_set_password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.CLINIC_SITE_URL.rstrip("/") + path


def _audit(*, by: AbstractBaseUser, description: str) -> None:
    audit_event_record(actor=by, action=AuditEvent.Action.CHANGE, description=description)


def _queue_password_email(*, user: AbstractBaseUser, invitation: bool) -> None:
    from appointments.services import outbound_email_enqueue

    context = {
        "user": user,
        "link": staff_password_link(user=user),
        "invitation": invitation,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        "clinic_name": settings.CLINIC_NAME,
    }
    subject = " ".join(render_to_string("clinic/email/staff_password_link_subject.txt", context).split())
    outbound_email_enqueue(
        dedupe_key=f"staff-password:{user.pk}:{timezone.now().timestamp()}",
        to=user.email,
        subject=subject,
        body=render_to_string("clinic/email/staff_password_link.txt", context),
    )


def staff_password_link_send(*, user: AbstractBaseUser, by: AbstractBaseUser) -> None:
    """E-mail ``user`` a link to set a new password (and so enrol a new authenticator); audited."""
    if user.is_superuser and not by.is_superuser:
        raise PermissionDenied("Only a superuser may act on a superuser's login.")
    with transaction.atomic():
        _audit(
            by=by,
            description=_g("Sent a set-password link to %(username)s") % {"username": user.get_username()},
        )
        _queue_password_email(user=user, invitation=False)


def staff_member_invite(*, user: AbstractBaseUser, role: Group, by: AbstractBaseUser) -> AbstractBaseUser:
    """Create the login ``user`` (not yet saved) as staff with one role, and e-mail them their link."""
    if role.name not in ROLES:
        raise ValueError(f"Not a staff role: {role.name}")
    with transaction.atomic():
        user.is_staff = True
        user.is_superuser = False
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        user.groups.set([role])
        _audit(
            by=by,
            description=_g("Invited %(username)s as %(role)s")
            % {"username": user.get_username(), "role": role.name},
        )
        _queue_password_email(user=user, invitation=True)
    return user


def staff_role_set(*, user: AbstractBaseUser, role: Group, by: AbstractBaseUser) -> None:
    """Give ``user`` exactly one of the staff roles (their only group); audited."""
    if role.name not in ROLES:
        raise ValueError(f"Not a staff role: {role.name}")
    if user.is_superuser and not by.is_superuser:
        raise PermissionDenied("Only a superuser may act on a superuser's login.")
    with transaction.atomic():
        user.groups.set([role])
        _audit(
            by=by,
            description=_g("Gave %(username)s the role %(role)s")
            % {"username": user.get_username(), "role": role.name},
        )


def staff_member_active_set(*, user: AbstractBaseUser, active: bool, by: AbstractBaseUser) -> None:
    """Switch ``user``'s login on or off; audited.

    Switching it off also gives the person's calendar feed (when they are a clinician) a new secret
    address: the feed answers only an active login, and switching the login back on never brings
    the old address, or any copy of it, back.
    """
    from appointments.models import Clinician
    from appointments.services import clinician_calendar_feed_renew

    if user.is_superuser and not by.is_superuser:
        raise PermissionDenied("Only a superuser may act on a superuser's login.")
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        clinician = None if active else Clinician.objects.filter(user=user).first()
        if clinician is not None:
            clinician_calendar_feed_renew(clinician=clinician)
        if active:
            description = _g("Switched on the login of %(username)s")
        elif clinician is not None:
            description = _g("Switched off the login of %(username)s; calendar feed address replaced")
        else:
            description = _g("Switched off the login of %(username)s")
        _audit(by=by, description=description % {"username": user.get_username()})


def staff_devices_delete(*, user: AbstractBaseUser, by: AbstractBaseUser) -> int:
    """Remove every authenticator of ``user`` (a lost phone): the next sign-in enrols a new one."""
    if user.is_superuser and not by.is_superuser:
        raise PermissionDenied("Only a superuser may act on a superuser's login.")
    with transaction.atomic():
        removed = sum(model.objects.filter(user=user).delete()[0] for model in DEVICE_MODELS)
        _audit(
            by=by,
            description=_g("Removed the authenticators of %(username)s") % {"username": user.get_username()},
        )
    return removed


def staff_password_set(*, user: AbstractBaseUser, password: str) -> None:
    """The person's own new password, through their link: their old authenticators stop working."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        for model in DEVICE_MODELS:
            model.objects.filter(user=user).delete()
        audit_event_record(
            actor=user,
            action=AuditEvent.Action.CHANGE,
            description=_g("Set a new password through an e-mailed link; authenticators removed"),
        )

"""The staff roles, as Django groups with the least permissions each job needs.

- Front desk: contact details, status, notes, assignment and scheduling of requests; the calendar.
- Clinician: all of that, the screening answers, the PHQ-9 and the clinician flags, and their own hours.
- Clinic admin: all of that, and articles, staff logins, CSV exports, the outbox, the audit trail,
  clinicians, consultation kinds and everybody's hours.

``manage.py create_staff_groups`` makes the groups and sets their permissions to exactly these
(it is safe to repeat, and puts right a group someone edited by hand).
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

SCREENING_PERMISSION = "appointments.view_screening_answers"
EXPORT_PERMISSION = "appointments.export_consultationrequest"
AUDIT_PERMISSION = "appointments.view_auditevent"
CALENDAR_PERMISSION = "appointments.view_appointment"
# Adding and changing clinicians and their kinds of consultation: clinic admins.
CLINICIANS_PERMISSION = "appointments.change_clinician"
DECISION_PERMISSION = "appointments.record_clinical_decision"
# Booking a time outside a clinician's hours, on purpose: clinic admins, who set the hours.
OVERRIDE_HOURS_PERMISSION = CLINICIANS_PERMISSION

FRONT_DESK = "Front desk"
CLINICIAN = "Clinician"
CLINIC_ADMIN = "Clinic admin"

_FRONT_DESK = [
    "appointments.view_consultationrequest",
    "appointments.change_consultationrequest",
    # The calendar, and who works when.
    CALENDAR_PERMISSION,
    "appointments.view_clinician",
    "appointments.view_consultationkind",
    "appointments.view_weeklyhours",
    "appointments.view_availabilityexception",
]
# Clinicians edit their own hours and time off (the admin keeps them to their own).
_OWN_HOURS = [
    f"appointments.{action}_{model}"
    for model in ["weeklyhours", "availabilityexception"]
    for action in ["add", "change", "delete"]
]
_CLINICIAN = [*_FRONT_DESK, SCREENING_PERMISSION, DECISION_PERMISSION, *_OWN_HOURS]
_CLINIC_ADMIN = [
    *_CLINICIAN,
    *(
        f"appointments.{action}_{model}"
        for model in ["clinician", "consultationkind"]
        for action in ["add", "change", "delete"]
    ),
    EXPORT_PERMISSION,
    AUDIT_PERMISSION,
    "appointments.view_outboundemail",
    *(
        f"education.{action}_{model}"
        for model in [
            "article",
            "safetynotice",
            "topic",
            "faqentry",
            "articletranslation",
            "searchsynonym",
            "openinghours",
            "closure",
            "treatmentprice",
        ]
        for action in ["add", "change", "delete", "view"]
    ),
    # The clinic's facts: one row, edited, never added or deleted by hand.
    "education.view_clinicprofile",
    "education.change_clinicprofile",
    "education.view_searchmiss",
    "education.delete_searchmiss",
    # Invite colleagues and give each one role; only through clinic.staff_admin, which shows no
    # password, superuser, staff or permission fields to a clinic admin, and no superuser at all.
    *(f"auth.{action}_user" for action in ["add", "change", "delete", "view"]),
    "auth.view_group",
    # Remove a colleague's lost authenticator (never see or choose one), and lift a lockout.
    "otp_totp.delete_totpdevice",
    "otp_static.delete_staticdevice",
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
]

ROLES = {
    FRONT_DESK: _FRONT_DESK,
    CLINICIAN: _CLINICIAN,
    CLINIC_ADMIN: _CLINIC_ADMIN,
}
ROLE_DESCRIPTIONS = {
    FRONT_DESK: _("contact details, status, notes and scheduling"),
    CLINICIAN: _("also the screening answers, PHQ-9 and clinician flags, and the clinical decision"),
    CLINIC_ADMIN: _("also articles, staff logins, exports, the outbox and the audit trail"),
}


@dataclass
class GroupReport:
    name: str
    created: bool
    permissions: int


def _permissions(names):
    query = Q()
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = Permission.objects.filter(query)
    missing = set(names) - {
        f"{p.content_type.app_label}.{p.codename}" for p in found.select_related("content_type")
    }
    if missing:
        raise LookupError(f"Permissions not found (run migrate first): {', '.join(sorted(missing))}")
    return found


def staff_groups_create() -> list[GroupReport]:
    """Create the three role groups, or bring their permissions back to the definition above."""
    reports = []
    with transaction.atomic():
        for name, permission_names in ROLES.items():
            group, created = Group.objects.get_or_create(name=name)
            permissions = _permissions(permission_names)
            group.permissions.set(permissions)
            reports.append(GroupReport(name=name, created=created, permissions=len(permission_names)))
    return reports


def can_view_screening(user) -> bool:
    return user.has_perm(SCREENING_PERMISSION)


def can_decide(user) -> bool:
    return user.has_perm(DECISION_PERMISSION)


def can_export(user) -> bool:
    return user.has_perm(EXPORT_PERMISSION)


def may_book_outside_hours(user) -> bool:
    return user is not None and user.has_perm(OVERRIDE_HOURS_PERMISSION)

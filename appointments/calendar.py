"""Calendar invitations (iCalendar, RFC 5545) for booked consultations.

An invitation, its updates and its cancellation are one event to the patient's calendar:
the same UID, a SEQUENCE that goes up with each message, METHOD:REQUEST for a booking or
a change and METHOD:CANCEL for a cancellation. Like the e-mail around it, the event carries
the clinic's name, the time, the place or the video instructions and the reference: no
health detail.
"""

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from icalendar import Calendar, Event, vCalAddress, vText

from clinic import details

from .models import Appointment


def _address(email, name):
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["cn"] = vText(name)
    return address


def appointment_location(appointment: Appointment) -> str:
    if appointment.modality == Appointment.Modality.TELEHEALTH:
        # The label's own words, looked up in the language active now (the patient's).
        return gettext("Telehealth (video call)")
    return appointment.location


def appointment_ics(
    *, appointment: Appointment, reference: str, attendee_email: str, attendee_name: str
) -> str:
    """The .ics text for the appointment as it stands: a cancellation if it is cancelled.

    Its words are in the active language: the patient's, set by the e-mail's sender.
    """
    cancelled = appointment.status == Appointment.Status.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.CLINIC_NAME}//Consultations//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")

    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", timezone.now().astimezone(datetime.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(datetime.UTC))
    event.add("dtend", appointment.ends_at.astimezone(datetime.UTC))
    event.add("summary", gettext("Consultation with %(name)s") % {"name": details.get().name})
    event.add("location", appointment_location(appointment))
    lines = [gettext("Reference: %(reference)s") % {"reference": reference}]
    if appointment.modality == Appointment.Modality.TELEHEALTH and not cancelled:
        lines += ["", gettext("How to join:"), appointment.telehealth_instructions]
    lines += ["", gettext("Questions or a change of plan: call %(phone)s.") % {"phone": details.get().phone}]
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", _address(settings.DEFAULT_FROM_EMAIL, details.get().name))
    attendee = _address(attendee_email, attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical().decode()

"""The outbox as the mail worker leaves it before sending: for tests that read what a message says."""

from appointments.emails import outbound_emails_render_due
from appointments.services.outbox import consultation_request_emails_queue_pending


def queue_pending():
    """Queue the e-mails of the requests saved since the last pass, as the worker's pass does first."""
    return consultation_request_emails_queue_pending(limit=1000)


def render_pending():
    """Queue new requests' messages and render those still a template's name, as the worker does
    before sending."""
    queue_pending()
    outbound_emails_render_due(limit=1000)

"""The outbox as the mail worker leaves it before sending: for tests that read what a message says."""

from appointments.emails import outbound_emails_render_due


def render_pending():
    """Render the messages still a template's name, as the worker does before sending."""
    outbound_emails_render_due(limit=1000)

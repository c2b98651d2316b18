from django.conf import settings
from django.db import migrations


def queue_the_marked_requests_emails(apps, schema_editor):
    """A request saved with its e-mails pending before the upgrade gets them queued now, as the
    mail worker's pass did: from here on Send queues them itself, and nothing reads the mark."""
    ConsultationRequest = apps.get_model("appointments", "ConsultationRequest")
    OutboundEmail = apps.get_model("appointments", "OutboundEmail")
    marked = ConsultationRequest.objects.filter(emails_pending=True).values_list(
        "pk", "email", "is_unfinished"
    )
    emails = []
    for pk, email, is_unfinished in marked:
        if not is_unfinished:
            emails.append(
                OutboundEmail(
                    dedupe_key=f"consultation-request:{pk}:acknowledgement",
                    template="patient_acknowledgement",
                    to=email,
                    consultation_request_id=pk,
                )
            )
        emails.append(
            OutboundEmail(
                dedupe_key=f"consultation-request:{pk}:staff-alert",
                template="staff_alert",
                to=settings.CLINIC_STAFF_EMAIL,
                consultation_request_id=pk,
            )
        )
    OutboundEmail.objects.bulk_create(emails, ignore_conflicts=True)
    ConsultationRequest.objects.filter(emails_pending=True).update(emails_pending=False)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0019_booking_draft_client_key"),
    ]

    operations = [
        migrations.RunPython(queue_the_marked_requests_emails, migrations.RunPython.noop),
        # The column and its index stay in the table for one release: while a deploy rolls out, the
        # previous code still writes the mark (its db_default covers the new code's inserts). The
        # next release queues what is marked once more and drops both.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="consultationrequest", name="appt_request_emails_idx"),
                migrations.RemoveField(model_name="consultationrequest", name="emails_pending"),
            ],
        ),
    ]

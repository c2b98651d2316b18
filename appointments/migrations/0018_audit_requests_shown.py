"""Which requests a list showed: the calendar, the dashboard, a feed... kept with the audit event.

Like the event itself, its rows are never changed or deleted: PostgreSQL refuses it, whoever asks
(requests are anonymised, never deleted, so no link ever has to go). TRUNCATE (used only by test
databases) fires no row triggers.
"""

from django.db import migrations, models

CREATE = """
CREATE FUNCTION appointments_auditevent_requests_shown_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER appointments_auditevent_requests_shown_immutable
    BEFORE UPDATE OR DELETE ON appointments_auditevent_requests_shown
    FOR EACH ROW EXECUTE FUNCTION appointments_auditevent_requests_shown_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS appointments_auditevent_requests_shown_immutable
    ON appointments_auditevent_requests_shown;
DROP FUNCTION IF EXISTS appointments_auditevent_requests_shown_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0017_request_emails_pending"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="requests_shown",
            field=models.ManyToManyField(
                blank=True,
                related_name="+",
                to="appointments.consultationrequest",
                verbose_name="requests shown",
            ),
        ),
        migrations.RunSQL(CREATE, DROP),
    ]

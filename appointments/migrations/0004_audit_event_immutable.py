"""PostgreSQL refuses to change or delete an audit event, whoever asks.

The one update allowed clears a link to a deleted user or request (``on_delete=SET_NULL``):
the event itself, its ``actor_label`` and ``reference`` included, stays as it was written.
TRUNCATE (used only by test databases) fires no row triggers.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION appointments_auditevent_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id)
       AND (NEW.consultation_request_id IS NULL OR NEW.consultation_request_id = OLD.consultation_request_id)
       AND (NEW.id, NEW.actor_label, NEW.action, NEW.reference, NEW.description, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.actor_label, OLD.action, OLD.reference, OLD.description, OLD.created_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER appointments_auditevent_immutable
    BEFORE UPDATE OR DELETE ON appointments_auditevent
    FOR EACH ROW EXECUTE FUNCTION appointments_auditevent_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS appointments_auditevent_immutable ON appointments_auditevent;
DROP FUNCTION IF EXISTS appointments_auditevent_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("appointments", "0003_staff_workspace")]

    operations = [migrations.RunSQL(CREATE, DROP)]

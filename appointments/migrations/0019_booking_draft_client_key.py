from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0018_audit_requests_shown"),
    ]

    operations = [
        migrations.AddField(
            model_name="bookingdraft",
            name="client_key",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                max_length=65,
                verbose_name="client (hashed)",
            ),
        ),
    ]

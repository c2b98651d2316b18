"""A request remembers the language it was sent in: the patient's e-mails and invitations use it."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import Appointment, ConsultationRequest, OutboundEmail
from appointments.services import Source, appointment_book, appointment_cancel
from appointments.services.reminders import appointment_reminders_enqueue_due
from tests.booking import walk
from tests.factories import SCREENING_MARKERS, booking_answers, make_clinician, make_kind, make_request
from tests.outbox import render_pending

pytestmark = pytest.mark.django_db

# Health words, in Spanish and English, that no patient e-mail may carry.
HEALTH_WORDS = [
    "bipolar",
    "depresi",
    "depress",
    "PHQ",
    "presión arterial",
    "convuls",
    "seizure",
    "embaraz",
    "autolesi",
    "hacerse daño",
    "telesalud",
    "seguro médico",
    "insurance",
    "1985",
]


SPANISH_MONTHS = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]


@pytest.fixture
def submit_in_spanish(client, django_capture_on_commit_callbacks):
    def post(data):
        with django_capture_on_commit_callbacks(execute=True):
            return walk(client, data, prefix="/es")

    return post


def patient_mail(consultation_request):
    render_pending()
    return OutboundEmail.objects.get(
        dedupe_key=f"consultation-request:{consultation_request.pk}:acknowledgement"
    )


def test_a_request_sent_from_the_spanish_form_is_stored_as_spanish(submit_in_spanish):
    response = submit_in_spanish(booking_answers(concern="bipolar_depression"))
    consultation_request = ConsultationRequest.objects.get()
    assert consultation_request.language == "es"
    # The confirmation page stays on the Spanish site.
    assert response.status_code == 302
    assert response["Location"].startswith("/es/consultation/received/")


def test_a_request_sent_from_the_english_form_is_stored_as_english(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        walk(client, booking_answers())
    assert ConsultationRequest.objects.get().language == "en"


def test_the_spanish_acknowledgement_is_in_spanish_without_health_details(submit_in_spanish):
    submit_in_spanish(booking_answers(concern="bipolar_depression", self_harm_thoughts="yes"))
    consultation_request = ConsultationRequest.objects.get()
    email = patient_mail(consultation_request)
    assert email.subject == (
        f"Su solicitud de consulta {consultation_request.reference} – Anti Aging and Ketamine Center"
    )
    # An urgent patient's e-mail leads with crisis help, then greets them.
    assert email.body.startswith("¿Necesita hablar con alguien ahora? No tiene que esperarnos.")
    assert "Estimado/a Maria:\n" in email.body
    assert "Envíe AYUDA por mensaje de texto al 741741" in email.body
    assert "Gracias por su solicitud de consulta a Anti Aging and Ketamine Center." in email.body
    assert f"Su número de referencia: {consultation_request.reference}" in email.body
    assert "Qué pasa ahora" in email.body
    assert "En español: llame al 988 y marque 2" in email.body
    assert "Dear Maria" not in email.body
    # The status link leads to the Spanish status page.
    assert "http://127.0.0.1:8000/es/consultation/status/" in email.body
    text = (email.subject + email.body).lower()
    for word in HEALTH_WORDS:
        assert word.lower() not in text, word
    for marker in SCREENING_MARKERS.values():
        assert marker not in email.subject + email.body


def test_the_staff_alert_for_a_spanish_request_stays_english(submit_in_spanish, settings):
    submit_in_spanish(booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    render_pending()
    staff = OutboundEmail.objects.get(to=settings.CLINIC_STAFF_EMAIL)
    assert staff.subject == f"New consultation request {consultation_request.reference}"
    assert "Estimado" not in staff.body
    assert "/es/" not in staff.body


def test_the_spanish_status_page_is_in_spanish(client, submit_in_spanish):
    submit_in_spanish(booking_answers())
    consultation_request = ConsultationRequest.objects.get()
    body = patient_mail(consultation_request).body
    # The status link, not the intake's link that comes before it.
    status_path = (
        "/es/consultation/status/"
        + body.split("http://127.0.0.1:8000/es/consultation/status/", 2)[1].split()[0]
    )
    html = client.get(status_path).content.decode()
    assert "Su solicitud de consulta" in html
    assert "Recibida. Nuestra recepción se comunicará con usted en un plazo de un día hábil." in html
    assert "Cancelar mi solicitud" in html


def test_the_spanish_confirmation_page_is_in_spanish_with_crisis_help_for_an_urgent_request(
    client, submit_in_spanish
):
    response = submit_in_spanish(booking_answers(self_harm_thoughts="yes"))
    html = client.get(response["Location"]).content.decode()
    assert "Recibimos su solicitud" in html
    assert "Hay ayuda disponible ahora mismo" in html
    assert '<a class="crisis-help__button" href="tel:988">Llame al 988 y marque 2</a>' in html
    assert '<a class="crisis-help__button" href="sms:988">Envíe AYUDA al 988</a>' in html
    assert '<a class="crisis-help__button" href="sms:741741">Envíe AYUDA al 741741</a>' in html


def test_booking_a_spanish_request_sends_a_spanish_invitation_and_calendar_event(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=45, interval_minutes=60, minimum_notice_minutes=0)
    clinician = make_clinician(kinds=[kind], hours=[(day, "00:00", "23:59") for day in range(7)])
    consultation_request = make_request(state="NY", language="es", first_name="Lucía")
    new_york = zoneinfo.ZoneInfo("America/New_York")
    day = timezone.localdate() + datetime.timedelta(days=2)
    day += datetime.timedelta(days=(7 - day.weekday()) % 7)  # The next Monday, two days ahead at least.
    starts_at = datetime.datetime(day.year, day.month, day.day, 10, 0, tzinfo=new_york)
    when = f"lunes, {day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}, 10:00 AM"
    zone = starts_at.strftime("%Z")
    appointment = appointment_book(
        consultation_request=consultation_request,
        clinician=clinician,
        kind=kind,
        starts_at=starts_at,
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    email = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:0")
    assert email.subject == (
        f"Su consulta está programada ({consultation_request.reference}) – Anti Aging and Ketamine Center"
    )
    assert email.body.startswith("Estimado/a Lucía:")
    assert f"Cuándo: {when} {zone}" in email.body
    assert "Duración: 45 minutos" in email.body
    assert "Dónde: por videollamada. Cómo conectarse:" in email.body
    assert "SUMMARY:Consulta con Anti Aging and Ketamine Center" in email.ics
    assert "LOCATION:Telesalud (videollamada)" in email.ics
    assert "Número de referencia: " + consultation_request.reference in email.ics.replace("\r\n ", "")

    appointment_cancel(appointment=appointment, source=Source.PATIENT)
    cancelled = OutboundEmail.objects.get(dedupe_key=f"appointment:{appointment.uid}:1")
    assert cancelled.subject.startswith("Su consulta quedó cancelada")
    assert f"{when} {zone} quedó cancelada" in cancelled.body


def test_a_spanish_reminder_is_in_spanish(settings):
    settings.TIME_ZONE = "America/New_York"
    kind = make_kind(duration_minutes=45, interval_minutes=60, minimum_notice_minutes=0)
    clinician = make_clinician(kinds=[kind], hours=[(day, "00:00", "23:59") for day in range(7)])
    starts_at = (timezone.now() + datetime.timedelta(hours=22)).replace(minute=0, second=0, microsecond=0)
    appointment = appointment_book(
        consultation_request=make_request(state="NY", language="es"),
        clinician=clinician,
        kind=kind,
        starts_at=starts_at + datetime.timedelta(hours=1),
        modality=Appointment.Modality.IN_PERSON,
        source=Source.PATIENT,
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=3)
    )
    assert appointment_reminders_enqueue_due(hours=[24, 2]) == 1
    reminder = OutboundEmail.objects.get(dedupe_key__startswith="reminder:")
    assert reminder.subject.startswith("Recordatorio: su consulta del ")
    assert "Le recordamos su consulta con Anti Aging and Ketamine Center." in reminder.body


def test_staff_see_the_language_in_the_list_with_a_filter_and_on_the_request(staff_client):
    spanish = make_request(language="es")
    english = make_request(language="en")
    listing = staff_client.get(reverse("admin:appointments_consultationrequest_changelist"))
    html = listing.content.decode()
    assert '<td class="field-language">Spanish</td>' in html
    assert '<td class="field-language">English</td>' in html
    filtered = staff_client.get(
        reverse("admin:appointments_consultationrequest_changelist") + "?language__exact=es"
    ).content.decode()
    assert spanish.reference in filtered
    assert english.reference not in filtered
    page = staff_client.get(
        reverse("admin:appointments_consultationrequest_change", args=[spanish.pk])
    ).content.decode()
    assert "Language" in page and "Spanish" in page


def test_a_spanish_patient_moves_their_consultation_on_spanish_pages(client, settings):
    settings.TIME_ZONE = "America/New_York"
    new_york = zoneinfo.ZoneInfo("America/New_York")
    kind = make_kind(duration_minutes=45, interval_minutes=60)
    clinician = make_clinician(kinds=[kind], states=["NY"], hours=[(0, "09:00", "13:00")])
    day = timezone.localdate() + datetime.timedelta(days=14)
    day += datetime.timedelta(days=(7 - day.weekday()) % 7)  # A Monday two weeks ahead at least.
    appointment = appointment_book(
        consultation_request=make_request(state="NY", language="es"),
        clinician=clinician,
        kind=kind,
        starts_at=datetime.datetime(day.year, day.month, day.day, 10, tzinfo=new_york),
        modality=Appointment.Modality.TELEHEALTH,
        source=Source.PATIENT,
    )
    with translation.override("es"):
        status = appointment.consultation_request.get_status_url()
    assert status.startswith("/es/consultation/status/")
    html = client.get(status).content.decode()
    when = f"lunes, {day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}, 10:00 AM–10:45 AM"
    assert f"<dt>Cuándo</dt><dd>{when}" in html
    assert "<dt>Cómo</dt><dd>Por video</dd>" in html

    page = client.get(status + "reschedule/").content.decode()
    assert "<h1>Elija otra hora</h1>" in page
    assert f"lunes, {day.day} de {SPANISH_MONTHS[day.month - 1]}" in page
    assert "Continuar" in page


# --- The clinical intake in Spanish ---------------------------------------------------------------


@pytest.fixture
def spanish_intake_url(clinic_facts):
    consultation_request = make_request(
        first_name="Maria",
        language="es",
        date_of_birth=None,
        episode="",
        antidepressant_trials="",
        treatment_preference="",
        payment="",
    )
    with translation.override("es"):
        url = consultation_request.get_intake_url()
    assert url.startswith("/es/consultation/intake/")
    return url


def test_the_spanish_intake_start_and_first_page_are_in_spanish(client, spanish_intake_url):
    start = client.get(spanish_intake_url)
    html = start.content.decode()
    assert start.status_code == 200
    assert '<html lang="es">' in html
    assert "<h1>Preguntas antes de su consulta</h1>" in html
    assert "Son 7 páginas cortas; toman unos diez minutos." in html
    assert "Todas las preguntas son opcionales." in html
    assert f'href="{spanish_intake_url}about/">Empezar</a>' in html
    assert "Questions before your consultation" not in html
    assert "Every question is optional" not in html

    first = client.get(spanish_intake_url + "about/")
    html = first.content.decode()
    assert first.status_code == 200
    assert "Página 1 de 7" in html
    assert "<h1>Sobre usted</h1>" in html
    assert "Fecha de nacimiento (opcional)" in html
    assert "¿Cómo describiría su estado de ánimo en este momento?" in html
    assert "No estoy seguro/a" in html
    assert ">Continuar</button>" in html
    assert "How would you describe your mood" not in html


def test_the_spanish_phq9_page_and_the_crisis_page_after_it_are_in_spanish(client, spanish_intake_url):
    html = client.get(spanish_intake_url + "phq9/").content.decode()
    assert (
        "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los siguientes problemas?"
        in html
    )
    assert "Poco interés o placer en hacer cosas" in html
    assert "Más de la mitad de los días" in html
    assert "Little interest or pleasure" not in html

    response = client.post(spanish_intake_url + "phq9/", {"phq9_9": "1"})
    assert response.status_code == 302
    assert response["Location"] == spanish_intake_url + "help-now/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="es">' in html
    assert "Hay ayuda disponible ahora mismo" in html
    # The Spanish line of the 988 Lifeline: call and press 2, or text AYUDA.
    assert '<a class="crisis-help__button" href="tel:988">Llame al 988 y marque 2</a>' in html
    assert '<a class="crisis-help__button" href="sms:988">Envíe AYUDA al 988</a>' in html
    assert 'href="tel:911">Llame al 911</a>' in html
    assert "Las respuestas que ha dado hasta ahora quedaron guardadas." in html
    assert f'href="{spanish_intake_url}mdq/">Seguir con las preguntas</a>' in html
    assert "Help is available right now" not in html
    assert "Call 988" not in html
    # The English page's Spanish line would only repeat the buttons here.
    assert "En español:" not in html


def test_the_phq9_items_follow_the_page_language_whichever_language_built_the_form_first(
    client, clinic_facts
):
    consultation_request = make_request(first_name="Maria", language="es")
    english_url = consultation_request.get_intake_url() + "phq9/"
    with translation.override("es"):
        spanish_url = consultation_request.get_intake_url() + "phq9/"
    for _round in range(2):
        english = client.get(english_url).content.decode()
        spanish = client.get(spanish_url).content.decode()
        assert "9. Thoughts that you would be better off dead or of hurting yourself in some way" in english
        assert "9. Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera" in spanish
        assert "Thoughts that you would be better off dead" not in spanish

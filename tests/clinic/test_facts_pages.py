"""The clinic's facts where patients look for them: home, costs, what to expect, the consultation."""

import json
import re

import pytest

from education.models import ClinicProfile, OpeningHours, TreatmentPrice

pytestmark = pytest.mark.django_db


def main(response):
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('<main id="main"') : html.index("</main>")]


def json_ld(response):
    html = response.content.decode()
    return [
        json.loads(block)
        for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    ]


def test_home_shows_costs_who_we_can_see_and_opening_hours(client, clinic_facts):
    html = main(client.get("/"))
    assert "What it costs" in html
    assert "The first consultation costs $150." in html
    assert "IV ketamine infusion: $450 per infusion" in html
    assert "Who we can see" in html
    assert "Adults aged 18 or over." in html
    assert "Connecticut, New Jersey, New York" in html
    assert "Opening hours" in html
    assert re.search(r"<th scope=\"row\">Saturday</th>\s*<td>9:00 AM – 1:00 PM</td>", html)
    assert re.search(r"<th scope=\"row\">Sunday</th>\s*<td>Closed</td>", html)
    assert 'href="/costs/"' in html and 'href="/what-to-expect/"' in html


def test_home_describes_the_clinic_with_its_opening_hours_for_search_engines(client, clinic_facts):
    (clinic,) = [block for block in json_ld(client.get("/")) if block.get("@type") == "MedicalClinic"]
    assert clinic["telephone"] == "+15550100100"
    assert clinic["address"]["postalCode"] == "10001"
    assert clinic["openingHoursSpecification"] == [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": [
                f"https://schema.org/{day}"
                for day in ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
            ],
            "opens": "09:00",
            "closes": "17:00",
        },
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": ["https://schema.org/Saturday"],
            "opens": "09:00",
            "closes": "13:00",
        },
    ]
    assert [area["name"] for area in clinic["areaServed"]] == ["Connecticut", "New Jersey", "New York"]


def test_costs_page_shows_each_price_its_series_and_insurance(client, clinic_facts):
    html = main(client.get("/costs/"))
    assert "<h1>Costs and insurance</h1>" in html
    assert "The first consultation costs $150. Credited toward your first treatment if you go ahead." in html
    assert "<strong>$450</strong> per infusion" in html
    assert "6 infusions over 2 to 3 weeks (about $2,700 in all)" in html
    assert "Spravato (esketamine) nasal spray" in html
    assert "Often covered for treatment-resistant depression" in html
    assert "Most insurers do not pay for IV ketamine" in html


def test_what_to_expect_page_covers_the_consultation_the_treatment_day_and_after(client, clinic_facts):
    html = main(client.get("/what-to-expect/"))
    for heading in [
        "Your first consultation",
        "A treatment day",
        "After treatment",
        "What to bring",
        "Opening hours",
    ]:
        assert heading in html
    assert "<li>A photo ID</li>" in html
    assert "switch into mania or hypomania" in html


def test_the_booking_start_page_shows_the_facts_before_the_first_question(client, clinic_facts):
    html = main(client.get("/consultation/"))
    assert "<form" not in html
    facts = html.index('class="booking__start-facts"')
    assert facts < html.index('href="/consultation/you/"')
    assert "The first consultation costs $150." in html[facts:]
    assert "Adults aged 18 or over." in html[facts:]
    assert "Connecticut, New Jersey, New York" in html[facts:]
    assert "Open Monday to Friday 9:00 AM–5:00 PM; Saturday 9:00 AM–1:00 PM (New York time)." in html
    assert 'href="tel:+15550100100"' in html


def test_a_free_consultation_and_an_admins_changes_show_on_the_pages(client, clinic_facts):
    clinic_facts.consultation_fee = 0
    clinic_facts.states_served = ["NY"]
    clinic_facts.save()
    OpeningHours.objects.get(weekday=5).delete()
    TreatmentPrice.objects.get(kind="Booster infusion").delete()
    html = main(client.get("/"))
    assert "The first consultation is free." in html
    assert "these states for each consultation and treatment, in person or by video: New York." in html
    assert re.search(r"<th scope=\"row\">Saturday</th>\s*<td>Closed</td>", html)
    assert "Booster infusion" not in main(client.get("/costs/"))


def test_without_facts_the_pages_say_to_call(client):
    assert not ClinicProfile.objects.exists()
    html = main(client.get("/costs/"))
    assert "for our current prices" in html
    assert "(555) 010-0100" in html
    assert "to ask when we are open" in main(client.get("/consultation/"))

"""schema.org structured data for article pages (JSON-LD): MedicalWebPage, FAQPage, BreadcrumbList."""

from django.urls import reverse
from django.utils.translation import gettext


def _absolute(site_url, path):
    return f"{site_url}{path}"


def _reviewer(article):
    """A named clinician is a Person; a reviewer given without credentials is the clinic's team."""
    if not article.reviewer_name:
        return None
    if article.reviewer_credentials:
        return {"@type": "Person", "name": article.reviewer_name, "jobTitle": article.reviewer_credentials}
    return {"@type": "Organization", "name": article.reviewer_name}


def article_structured_data(article, *, clinic, image_url=None):
    """The JSON-LD graph for ``article``'s page, as plain data ready for ``json.dumps``.

    ``clinic`` is the clinic's facts (``clinic.details.get()``).
    """
    site_url = clinic.site_url
    url = _absolute(site_url, article.get_absolute_url())
    publisher = {
        "@type": "MedicalClinic",
        "name": clinic.name,
        "url": _absolute(site_url, "/"),
        "telephone": clinic.phone_tel,
    }
    page = {
        "@type": "MedicalWebPage",
        "@id": f"{url}#page",
        "url": url,
        "name": article.title,
        "headline": article.title,
        "description": article.summary,
        # A published translation is Spanish; an article shown untranslated on the Spanish site is English.
        "inLanguage": "es-US" if getattr(article, "translated", False) else "en-US",
        "audience": {"@type": "MedicalAudience", "audienceType": "Patient"},
        "about": [{"@type": topic.schema_type, "name": topic.name} for topic in article.topics.all()],
        "publisher": publisher,
        "breadcrumb": {"@id": f"{url}#breadcrumb"},
    }
    if article.published_at:
        page["datePublished"] = article.published_at.isoformat()
    page["dateModified"] = article.updated_at.isoformat()
    if article.last_reviewed:
        page["lastReviewed"] = article.last_reviewed.isoformat()
    reviewer = _reviewer(article)
    if reviewer:
        page["reviewedBy"] = reviewer
    if image_url:
        page["primaryImageOfPage"] = {"@type": "ImageObject", "url": image_url}
    notice = article.safety_notice
    if notice:
        # Part of the page: search engines read the safety information with the rest of it.
        page["hasPart"] = {
            "@type": "WebPageElement",
            "@id": f"{url}#safety",
            "cssSelector": "#safety",
            "name": notice.title,
            "text": notice.text,
        }

    graph = [
        page,
        {
            "@type": "BreadcrumbList",
            "@id": f"{url}#breadcrumb",
            "itemListElement": [
                {
                    "@type": "ListItem",
                    "position": 1,
                    "name": gettext("Home"),
                    "item": _absolute(site_url, "/"),
                },
                {
                    "@type": "ListItem",
                    "position": 2,
                    "name": gettext("Learn"),
                    "item": _absolute(site_url, reverse("education:article_list")),
                },
                {"@type": "ListItem", "position": 3, "name": article.title, "item": url},
            ],
        },
    ]
    faqs = list(article.faqs.all())
    if faqs:
        graph.append(
            {
                "@type": "FAQPage",
                "@id": f"{url}#faq",
                "url": url,
                "mainEntity": [
                    {
                        "@type": "Question",
                        "name": faq.question,
                        "acceptedAnswer": {"@type": "Answer", "text": faq.answer_text},
                    }
                    for faq in faqs
                ],
            }
        )
    return {"@context": "https://schema.org", "@graph": graph}


SCHEMA_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def clinic_structured_data(clinic):
    """The clinic as a schema.org MedicalClinic, with its address and opening hours (JSON-LD)."""
    site_url = clinic.site_url
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalClinic",
        "@id": f"{site_url}/#clinic",
        "name": clinic.name,
        "url": _absolute(site_url, "/"),
        "telephone": clinic.phone_tel,
    }
    if clinic.street_address:
        data["address"] = {
            "@type": "PostalAddress",
            "streetAddress": clinic.street_address,
            "addressLocality": clinic.locality,
            "addressRegion": clinic.region,
            "postalCode": clinic.postal_code,
            "addressCountry": "US",
        }
    if clinic.email:
        data["email"] = clinic.email
    spans = {}
    for hours in clinic.hours:
        key = (hours.opens.strftime("%H:%M"), hours.closes.strftime("%H:%M"))
        spans.setdefault(key, []).append(f"https://schema.org/{SCHEMA_DAYS[hours.weekday]}")
    if spans:
        data["openingHoursSpecification"] = [
            {"@type": "OpeningHoursSpecification", "dayOfWeek": days, "opens": opens, "closes": closes}
            for (opens, closes), days in spans.items()
        ]
    closures = clinic.upcoming_closures()
    if closures:
        # schema.org's way to say "closed": a special opening with the same opening and closing time.
        data["specialOpeningHoursSpecification"] = [
            {
                "@type": "OpeningHoursSpecification",
                "validFrom": closure.first_day.isoformat(),
                "validThrough": closure.last_day.isoformat(),
                "opens": "00:00",
                "closes": "00:00",
            }
            for closure in closures
        ]
    if clinic.states_served:
        data["areaServed"] = [{"@type": "State", "name": name} for name in clinic.states_served_names]
    return data

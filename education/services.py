"""Changes to the education library: publishing, and loading the clinic's own articles."""

import datetime
import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _g

from appointments.models import AuditEvent
from appointments.services import audit_event_record

from .models import (
    Article,
    ClinicProfile,
    Closure,
    FAQEntry,
    OpeningHours,
    SafetyNotice,
    SearchMiss,
    SearchSynonym,
    Topic,
    TreatmentPrice,
    search_miss_term,
)

CONTENT_DIR = Path(__file__).resolve().parent / "content"
CLINIC_FACTS_FILE = CONTENT_DIR / "clinic" / "facts.toml"
SAFETY_FILES = sorted((CONTENT_DIR / "clinic").glob("safety-*.toml"))
# The fields a content file sets. Publishing and uploaded images are left to staff.
CONTENT_TEXT_FIELDS = (
    "title",
    "summary",
    "body",
    "conclusion",
    "hero_image_alt",
    "hero_image_credit",
    "faq_image_alt",
    "faq_image_credit",
    "reviewer_name",
    "reviewer_credentials",
)
CONTENT_DATE_FIELDS = ("last_reviewed", "next_review_due")


@transaction.atomic
def article_publish(*, article: Article, published_at: datetime.datetime | None = None) -> Article:
    """Publish ``article`` from ``published_at`` (by default: its own date if set, else now)."""
    article.status = Article.Status.PUBLISHED
    article.published_at = published_at or article.published_at or timezone.now()
    article.full_clean()
    article.save(update_fields=["status", "published_at", "updated_at"])
    return article


@transaction.atomic
def article_unpublish(*, article: Article) -> Article:
    """Take ``article`` off the public site; it stays in the admin as a draft, with its date."""
    article.status = Article.Status.DRAFT
    article.full_clean()
    article.save(update_fields=["status", "updated_at"])
    return article


@dataclass(frozen=True)
class LoadResult:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    KEPT_STAFF_EDITS = "kept staff edits"

    article: Article
    outcome: str


def read_content_file(path: Path) -> dict:
    """Read one article's content file (TOML): its fields, topics and questions."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _desired_state(article: Article, content: dict) -> dict:
    """The article's content state once ``content`` is applied; publishing and images stay as they are."""
    fields = content["article"]
    state = article.content_state()
    state.update({key: fields.get(key, "").strip() for key in CONTENT_TEXT_FIELDS})
    for key in CONTENT_DATE_FIELDS:
        state[key] = fields[key].isoformat() if fields.get(key) else None
    state["topics"] = sorted(topic["slug"] for topic in content.get("topics", []))
    state["faqs"] = [[faq["question"].strip(), faq["answer"].strip()] for faq in content.get("faq", [])]
    return state


@transaction.atomic
def article_load_content(*, content: dict) -> LoadResult:
    """Create or refresh an article from the clinic's content, never overwriting a staff edit.

    A new article is created and published. An existing one is refreshed only while its content
    is still exactly what the last load left (its stored fingerprint matches): once a staff
    member has changed anything, the content file no longer touches it. Running it twice is safe.
    """
    fields = content["article"]
    article = Article.objects.filter(slug=fields["slug"]).first()
    if article is None:
        outcome = LoadResult.CREATED
        article = Article(slug=fields["slug"], status=Article.Status.PUBLISHED, published_at=timezone.now())
    elif article.content_fingerprint and article.compute_fingerprint() == article.content_fingerprint:
        outcome = LoadResult.UPDATED
    else:
        return LoadResult(article=article, outcome=LoadResult.KEPT_STAFF_EDITS)

    state = _desired_state(article, content)
    if outcome == LoadResult.UPDATED and article.compute_fingerprint(state) == article.content_fingerprint:
        return LoadResult(article=article, outcome=LoadResult.UNCHANGED)

    for key in CONTENT_TEXT_FIELDS:
        setattr(article, key, state[key])
    for key in CONTENT_DATE_FIELDS:
        setattr(article, key, fields.get(key))
    article.full_clean(exclude=["content_fingerprint"])
    article.save()

    topics = []
    for topic in content.get("topics", []):
        obj, _ = Topic.objects.get_or_create(
            slug=topic["slug"],
            defaults={"name": topic["name"], "kind": topic.get("kind", Topic.Kind.CONDITION)},
        )
        topics.append(obj)
    article.topics.set(topics)

    article.faqs.all().delete()
    for position, (question, answer) in enumerate(state["faqs"], start=1):
        entry = FAQEntry(article=article, question=question, answer=answer, position=position)
        entry.full_clean()
        entry.save()

    article.content_fingerprint = article.compute_fingerprint()
    article.save(update_fields=["content_fingerprint"])
    return LoadResult(article=article, outcome=outcome)


def clinic_content_load(*, directory: Path = CONTENT_DIR) -> list[LoadResult]:
    """Load every article in the clinic's content folder (one TOML file per article)."""
    return [
        article_load_content(content=read_content_file(path)) for path in sorted(directory.glob("*.toml"))
    ]


def _profile_fields():
    return [field.name for field in ClinicProfile._meta.get_fields() if getattr(field, "editable", False)]


@transaction.atomic
def clinic_facts_load_samples(*, path: Path = CLINIC_FACTS_FILE) -> str:
    """Fill a fresh database with sample clinic facts, each marked as a sample; never touch existing ones.

    Returns ``LoadResult.CREATED``, or ``LoadResult.UNCHANGED`` when a clinic profile exists already
    (whoever made it, and whatever they changed since).
    """
    if ClinicProfile.objects.exists():
        return LoadResult.UNCHANGED
    content = read_content_file(path)
    values = {"name": settings.CLINIC_NAME, "phone": settings.CLINIC_PHONE, **content["profile"]}
    values = {key: value.strip() if isinstance(value, str) else value for key, value in values.items()}
    profile = ClinicProfile(**values)
    profile.sample_fields = [name for name in _profile_fields() if name in values]
    profile.full_clean()
    profile.save()
    rows = []
    for hours in content.get("hours", []):
        for weekday in hours["days"]:
            rows.append(
                OpeningHours(profile=profile, weekday=weekday, opens=hours["opens"], closes=hours["closes"])
            )
    for closure in content.get("closures", []):
        rows.append(Closure(profile=profile, **closure))
    for position, price in enumerate(content.get("prices", []), start=1):
        rows.append(TreatmentPrice(profile=profile, position=position, **price))
    for row in rows:
        row.is_sample = True
        row.full_clean()
        row.save()
    return LoadResult.CREATED


@transaction.atomic
def clinic_profile_save(
    *, profile: ClinicProfile, changed_fields: list[str], by: AbstractBaseUser | None
) -> ClinicProfile:
    """Save a clinic admin's change to the clinic's facts, and record it in the audit trail.

    A field the admin changed is no longer a sample value.
    """
    profile.full_clean()
    profile.sample_fields = [name for name in profile.sample_fields if name not in changed_fields]
    profile.save()
    if changed_fields:
        labels = [str(ClinicProfile._meta.get_field(name).verbose_name) for name in changed_fields]
        clinic_facts_record_change(by=by, what=labels)
    return profile


def clinic_facts_record_change(*, by: AbstractBaseUser | None, what: list[str]) -> None:
    """Add "clinic facts changed: …" (the parts named, no values) to the audit trail."""
    audit_event_record(
        actor=by,
        actor_label="" if by else "system",
        action=AuditEvent.Action.CHANGE,
        description=_g("Clinic facts changed: %(what)s") % {"what": ", ".join(what)},
    )


def search_miss_record(*, terms: str) -> None:
    """Count one library search that found nothing: the words only, never who searched."""
    term = search_miss_term(terms)
    if not term:
        return
    table = SearchMiss._meta.db_table
    # One statement, so that two visitors' identical searches never collide.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (term, count, first_searched, last_searched) VALUES (%s, 1, %s, %s)
            ON CONFLICT (term) DO UPDATE SET count = {table}.count + 1, last_searched = EXCLUDED.last_searched
            """,  # noqa: S608 - the table's name is the model's own
            [term, timezone.now(), timezone.now()],
        )


@transaction.atomic
def search_synonyms_load_samples(*, groups: list[str]) -> int:
    """Add the sample synonym groups when editors have none yet; returns how many were added."""
    if SearchSynonym.objects.exists():
        return 0
    for terms in groups:
        synonym = SearchSynonym(terms=terms)
        synonym.full_clean()
        synonym.save()
    return len(groups)


@transaction.atomic
def safety_notice_load(*, content: dict) -> str:
    """Create a safety block from the clinic's content and put it beside the articles it names.

    Only a block that does not exist yet is created, and only articles that carry no block get
    it: an editor's later changes, or their choice to take it off an article, stay.
    """
    fields = dict(content["notice"])
    attach_to = fields.pop("attach_to", [])
    if SafetyNotice.objects.filter(key=fields["key"]).exists():
        return LoadResult.UNCHANGED
    notice = SafetyNotice(
        **{key: value.strip() if isinstance(value, str) else value for key, value in fields.items()}
    )
    notice.full_clean()
    notice.save()
    # Not an editor's change: the articles' content fingerprints stay as the last load left them.
    Article.objects.filter(slug__in=attach_to, safety_notice__isnull=True).update(safety_notice=notice)
    return LoadResult.CREATED

"""Changes to the education library: publishing, and loading the clinic's own articles."""

import datetime
import tomllib
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from .models import Article, FAQEntry, Topic

CONTENT_DIR = Path(__file__).resolve().parent / "content"
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

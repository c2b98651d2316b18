"""The education library: patient articles, their topics and their questions and answers."""

import datetime
import functools
import hashlib
import html
import json
import threading

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchQueryCombinable,
    SearchRank,
    SearchVector,
    SearchVectorField,
)
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _

from clinic import http_cache

from ..rendering import PAGE_IDS, render_markdown

SEARCH_CONFIG = "english"
# Private-use characters mark the matched words in search snippets. They never occur in an
# article's searchable text (``Article.save`` strips them), so they cannot be forged.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_STOP = "\ue001"
SEARCH_MAX_LENGTH = 200
# Paths under /learn/ that are not articles.
RESERVED_SLUGS = frozenset({"feed"})
REVIEW_DUE_SOON_DAYS = 30


def _searchable(text):
    return text.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_STOP, "")


def _plain_text(rendered_html):
    return " ".join(html.unescape(strip_tags(rendered_html)).split())


def clean_search_terms(terms):
    """What a visitor typed, made safe to hand to PostgreSQL: no NUL bytes, bounded length."""
    terms = (terms or "").replace("\x00", " ")
    return " ".join(terms.split())[:SEARCH_MAX_LENGTH].strip()


def library_public_paths():
    """Every public page that shows the library or the clinic's facts: the site's pages and every article."""
    names = [
        "home",
        "costs",
        "what_to_expect",
        "appointments:booking_start",
        "education:article_list",
        "education:feed",
    ]
    slugs = list(Article.objects.values_list("slug", flat=True))
    paths = [reverse("sitemap")]
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            paths += [reverse(name) for name in names]
            paths += [reverse("education:article_detail", kwargs={"slug": slug}) for slug in slugs]
    return paths


def library_page_cache_key(path):
    """The shared cache's key for the public page at ``path`` (hashed: an address typed into the
    address bar can be too long for a key)."""
    return f"education:page:{hashlib.sha256(path.encode()).hexdigest()}"


def _library_pages_forget(paths):
    cache.delete_many([library_page_cache_key(path) for path in paths])


class _Purge:
    """The purge shared by the changes of one transaction, with the addresses they touched: made
    by the first of their on-commit callbacks to run. A rolled-back transaction's callbacks never
    run, and the next transaction's changes take its purge over."""

    def __init__(self):
        self.done = False
        self.paths = set()


_purges = threading.local()


def _library_committed(purge):
    if purge.done:
        return
    purge.done = True
    paths = purge.paths | set(library_public_paths())
    _library_pages_forget(paths)
    http_cache.purge(paths)


def library_content_changed():
    """Drop the library's pages from the shared cache: now, and again once the transaction commits.

    Now, for what this transaction shows next; again, for a page another request built from the
    rows as they were before the commit. Then the shared HTTP cache in front, when configured,
    drops its copies, once per transaction however many rows changed (an admin save changes an
    article and each of its questions). Called before an article is deleted too, so that its
    address is among them. A slug changed in the transaction is dropped under its new path only:
    the old path's copies expire on their own (``PAGE_CACHE_SECONDS``, ``s-maxage``).
    """
    paths = library_public_paths()
    _library_pages_forget(paths)
    purge = getattr(_purges, "pending", None)
    if purge is None or purge.done:
        purge = _purges.pending = _Purge()
    purge.paths.update(paths)
    transaction.on_commit(functools.partial(_library_committed, purge), robust=True)


class LibraryContent(models.Model):
    """Something the library's pages show: saving or deleting it makes their cached copies stale."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        library_content_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        library_content_changed()
        return result


class Topic(models.Model):
    class Kind(models.TextChoices):
        CONDITION = "condition", _("Medical condition")
        TREATMENT = "treatment", _("Treatment")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(
        _("kind"),
        max_length=20,
        choices=Kind.choices,
        default=Kind.CONDITION,
        help_text=_("Tells search engines what the topic is: a condition, a treatment or something else."),
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        library_content_changed()

    def get_absolute_url(self):
        return reverse("education:article_list") + f"#topic-{self.slug}"

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        library_content_changed()
        return result

    @property
    def schema_type(self):
        """The schema.org type that structured data uses for this topic."""
        return {
            self.Kind.CONDITION: "MedicalCondition",
            self.Kind.TREATMENT: "MedicalTherapy",
        }.get(self.kind, "Thing")


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """The articles the public may see: published, with a publish date that has come.

        This is the only definition of "public": views, search, the sitemap and the feed use it.
        """
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def latest_first(self):
        """Newest publish date first (undated drafts last)."""
        return self.order_by(F("published_at").desc(nulls_last=True), "-pk")

    def related_to(self, article):
        """Other articles that share a topic with ``article``, newest first (one query, none without topics)."""
        topic_ids = [topic.pk for topic in article.topics.all()]
        if not topic_ids:
            return self.none()
        sharing = Article.topics.through.objects.filter(topic_id__in=topic_ids).values("article_id")
        return self.filter(pk__in=sharing).exclude(pk=article.pk).latest_first()

    def search(self, terms):
        """Articles matching ``terms`` (English stemming), best match first, with highlighted snippets.

        ``terms`` is what a visitor typed, or a ``SearchQuery`` built from it (``education.search``).

        Each article gets ``rank``, ``title_highlighted`` and ``snippet``: plain text in which
        ``HIGHLIGHT_START``/``HIGHLIGHT_STOP`` surround the matched words.
        """
        if isinstance(terms, SearchQueryCombinable):
            query = terms
        else:
            query = SearchQuery(clean_search_terms(terms), search_type="websearch", config=SEARCH_CONFIG)
        marks = {"start_sel": HIGHLIGHT_START, "stop_sel": HIGHLIGHT_STOP}
        return (
            self.filter(search_vector=query)
            .annotate(
                rank=SearchRank(F("search_vector"), query),
                title_highlighted=SearchHeadline(
                    "title", query, config=SEARCH_CONFIG, highlight_all=True, **marks
                ),
                snippet=SearchHeadline(
                    "search_text",
                    query,
                    config=SEARCH_CONFIG,
                    max_words=40,
                    min_words=20,
                    max_fragments=2,
                    fragment_delimiter=" … ",
                    **marks,
                ),
            )
            .order_by("-rank", F("published_at").desc(nulls_last=True), "-pk")
        )

    def with_next_publication(self):
        """Annotate ``next_publication_at``: when the next scheduled article goes public, or None.

        A page built from ``published()`` changes at that moment, so a cached copy must not outlive it.
        """
        upcoming = (
            Article.objects.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now())
            .order_by("published_at")
            .values("published_at")[:1]
        )
        return self.annotate(next_publication_at=Subquery(upcoming))

    def overdue_for_review(self, *, today=None):
        """Articles whose next clinical review date has passed."""
        return self.filter(next_review_due__lt=today or timezone.localdate())


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=200,
        unique=True,
        help_text=_("The article's address: /learn/<slug>/. Changing it breaks links to the article."),
    )
    summary = models.CharField(
        _("summary"),
        max_length=300,
        help_text=_("One or two sentences shown in lists, in search engines and when the page is shared."),
    )
    topics = models.ManyToManyField(Topic, verbose_name=_("topics"), related_name="articles", blank=True)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Markdown. Start each section with “## ” and each sub-section with “### ”: "
            "they make the table of contents. The questions and answers go in the FAQ below."
        ),
    )
    conclusion = models.TextField(
        _("closing words"),
        blank=True,
        help_text=_("Markdown shown after the questions and answers, just before the call to action."),
    )
    body_html = models.TextField(editable=False, blank=True, default="")
    conclusion_html = models.TextField(editable=False, blank=True, default="")
    toc = models.JSONField(_("table of contents"), editable=False, blank=True, default=list)
    search_text = models.TextField(editable=False, blank=True, default="")
    search_vector = models.GeneratedField(
        expression=(
            SearchVector("title", config=SEARCH_CONFIG, weight="A")
            + SearchVector("summary", config=SEARCH_CONFIG, weight="B")
            + SearchVector("search_text", config=SEARCH_CONFIG, weight="C")
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    hero_image = models.ImageField(_("hero image"), upload_to="education/articles/", blank=True)
    hero_image_alt = models.CharField(
        _("hero image alt text"),
        max_length=250,
        blank=True,
        help_text=_("What the picture shows, for people who cannot see it. Required with an image."),
    )
    hero_image_credit = models.CharField(_("hero image credit"), max_length=200, blank=True)
    faq_image = models.ImageField(_("FAQ image"), upload_to="education/articles/", blank=True)
    faq_image_alt = models.CharField(
        _("FAQ image alt text"),
        max_length=250,
        blank=True,
        help_text=_("What the picture shows, for people who cannot see it. Required with an image."),
    )
    faq_image_credit = models.CharField(_("FAQ image credit"), max_length=200, blank=True)

    safety_notice = models.ForeignKey(
        "SafetyNotice",
        verbose_name=_("safety information"),
        related_name="articles",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text=_("Shown beside the article in a box of its own, with its own clinical review."),
    )

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        _("publish date"),
        null=True,
        blank=True,
        help_text=_("A published article shows from this moment on. Left empty, it is set on publishing."),
    )
    reviewer_name = models.CharField(
        _("clinical reviewer"),
        max_length=200,
        blank=True,
        help_text=_("The clinician, or clinical team, who checked the article."),
    )
    reviewer_credentials = models.CharField(
        _("reviewer's credentials"),
        max_length=200,
        blank=True,
        help_text=_("For example: MD, board-certified psychiatrist."),
    )
    last_reviewed = models.DateField(_("last reviewed"), null=True, blank=True)
    next_review_due = models.DateField(_("next review due"), null=True, blank=True)

    content_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("Fingerprint of the article as last loaded from the clinic's content files."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = [F("published_at").desc(nulls_last=True), "-pk"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="education_article_published_has_date",
                violation_error_message=_("A published article needs a publish date."),
            ),
            models.CheckConstraint(
                condition=Q(hero_image="") | ~Q(hero_image_alt=""),
                name="education_article_hero_image_has_alt",
                violation_error_message=_("Describe the hero image in its alt text."),
            ),
            models.CheckConstraint(
                condition=Q(faq_image="") | ~Q(faq_image_alt=""),
                name="education_article_faq_image_has_alt",
                violation_error_message=_("Describe the FAQ image in its alt text."),
            ),
            models.CheckConstraint(
                condition=Q(last_reviewed__isnull=True)
                | Q(next_review_due__isnull=True)
                | Q(next_review_due__gt=F("last_reviewed")),
                name="education_article_review_due_after_review",
                violation_error_message=_("The next review must be due after the last review."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "published_at"], name="education_article_public_idx"),
            models.Index(fields=["next_review_due"], name="education_article_review_idx"),
            GinIndex(fields=["search_vector"], name="education_article_search_idx"),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        used_ids = set(PAGE_IDS)
        body = render_markdown(self.body, used_ids=used_ids)
        conclusion = render_markdown(self.conclusion, used_ids=used_ids)
        self.body_html = body.html
        self.conclusion_html = conclusion.html
        self.toc = [{**entry, "part": "body"} for entry in body.toc] + [
            {**entry, "part": "conclusion"} for entry in conclusion.toc
        ]
        self.search_text = self._compose_search_text()
        self.title = _searchable(self.title)
        self.summary = _searchable(self.summary)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"body", "conclusion"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "body_html", "conclusion_html", "toc", "search_text"}
        super().save(*args, **kwargs)
        library_content_changed()

    def get_absolute_url(self):
        return reverse("education:article_detail", kwargs={"slug": self.slug})

    def delete(self, *args, **kwargs):
        # Before, while its address is listed; after, for the pages that listed it.
        library_content_changed()
        result = super().delete(*args, **kwargs)
        library_content_changed()
        return result

    def clean(self):
        super().clean()
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        errors = {}
        if self.slug in RESERVED_SLUGS:
            errors["slug"] = _("“%(slug)s” is taken by another page of the library.") % {"slug": self.slug}
        if self.hero_image and not self.hero_image_alt.strip():
            errors["hero_image_alt"] = _("Describe the hero image for people who cannot see it.")
        if self.faq_image and not self.faq_image_alt.strip():
            errors["faq_image_alt"] = _("Describe the FAQ image for people who cannot see it.")
        if self.last_reviewed and self.next_review_due and self.next_review_due <= self.last_reviewed:
            errors["next_review_due"] = _("The next review must be due after the last review.")
        if errors:
            raise ValidationError(errors)

    def _compose_search_text(self):
        """What search reads besides title and summary: the body, the questions and answers, the close."""
        faqs = FAQEntry.objects.filter(article_id=self.pk).order_by("position", "pk") if self.pk else []
        parts = [_plain_text(self.body_html), *(f"{faq.question} {faq.answer_text}" for faq in faqs)]
        parts.append(_plain_text(self.conclusion_html))
        return _searchable(" ".join(part for part in parts if part))

    def refresh_search_text(self):
        """Re-index the article after its questions and answers changed (``updated_at`` stays)."""
        self.search_text = self._compose_search_text()
        Article.objects.filter(pk=self.pk).update(search_text=self.search_text)

    @property
    def is_public(self):
        """``published()`` for one article already in memory (the tests hold the two together)."""
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    @property
    def is_overdue_for_review(self):
        return self.next_review_due is not None and self.next_review_due < timezone.localdate()

    @property
    def review_state(self):
        """``"overdue"``, ``"due_soon"``, ``"current"`` or ``"unset"``: where the clinical review stands."""
        if self.next_review_due is None:
            return "unset"
        today = timezone.localdate()
        if self.next_review_due < today:
            return "overdue"
        if self.next_review_due <= today + datetime.timedelta(days=REVIEW_DUE_SOON_DAYS):
            return "due_soon"
        return "current"

    def contents(self, *, faq_title=None, safety_title=None):
        """The table of contents: the body's headings, the safety information and the FAQ (given
        their titles), the closing words'."""
        entries = [entry for entry in self.toc if entry.get("part") != "conclusion"]
        if safety_title:
            entries.append({"id": "safety", "name": safety_title, "children": []})
        if faq_title:
            entries.append({"id": "faq", "name": faq_title, "children": []})
        return entries + [entry for entry in self.toc if entry.get("part") == "conclusion"]

    @property
    def photo_credits(self):
        """The credits of the photos the page shows: a credit waits in the data until its photo exists."""
        pairs = [(self.hero_image, self.hero_image_credit), (self.faq_image, self.faq_image_credit)]
        return [credit for image, credit in pairs if image and credit]

    def content_state(self):
        """Everything an editor can change about the article, as plain data (for fingerprints)."""
        return {
            "title": self.title,
            "summary": self.summary,
            "body": self.body,
            "conclusion": self.conclusion,
            "hero_image": self.hero_image.name or "",
            "hero_image_alt": self.hero_image_alt,
            "hero_image_credit": self.hero_image_credit,
            "faq_image": self.faq_image.name or "",
            "faq_image_alt": self.faq_image_alt,
            "faq_image_credit": self.faq_image_credit,
            "status": self.status,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "reviewer_name": self.reviewer_name,
            "reviewer_credentials": self.reviewer_credentials,
            "last_reviewed": self.last_reviewed.isoformat() if self.last_reviewed else None,
            "next_review_due": self.next_review_due.isoformat() if self.next_review_due else None,
            "topics": sorted(topic.slug for topic in self.topics.all()) if self.pk else [],
            "faqs": [[faq.question, faq.answer] for faq in self.faqs.all()] if self.pk else [],
        }

    def compute_fingerprint(self, state=None):
        state = self.content_state() if state is None else state
        encoded = json.dumps(state, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()


class FAQEntry(models.Model):
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="faqs"
    )
    question = models.CharField(_("question"), max_length=300)
    answer = models.TextField(_("answer"), help_text=_("Markdown."))
    answer_html = models.TextField(editable=False, blank=True, default="")
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Questions show in this order, lowest first.")
    )

    class Meta:
        ordering = ["article", "position", "pk"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        indexes = [models.Index(fields=["article", "position"], name="education_faq_order_idx")]

    def __str__(self):
        return self.question

    def save(self, *args, **kwargs):
        # An answer's headings take no ids, so they never clash with the body's.
        self.answer_html = render_markdown(self.answer, anchors=False).html
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "answer" in update_fields:
            kwargs["update_fields"] = {*update_fields, "answer_html"}
        super().save(*args, **kwargs)
        self.article.refresh_search_text()
        library_content_changed()

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.article.refresh_search_text()
        library_content_changed()
        return result

    @property
    def answer_text(self):
        """The answer as plain text, for structured data."""
        return _plain_text(self.answer_html)

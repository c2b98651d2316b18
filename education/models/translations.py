"""Articles in other languages, written and clinically reviewed by people, never by a machine.

A translation is shown on the Spanish site only once it is published, with its own reviewer and
review dates; until then the Spanish site shows the English article with a note saying so.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ..rendering import PAGE_IDS, render_markdown
from .articles import Article, LibraryContent

# What a published translation replaces on the article's page, the card and the feed.
TRANSLATED_FIELDS = [
    "title",
    "summary",
    "body_html",
    "conclusion_html",
    "toc",
    "reviewer_name",
    "reviewer_credentials",
    "last_reviewed",
    "next_review_due",
]


class ArticleTranslationQuerySet(models.QuerySet):
    def published(self):
        """Translations the public may read: published, which requires a clinical review."""
        return self.filter(status=ArticleTranslation.Status.PUBLISHED)


class ArticleTranslation(LibraryContent):
    class Language(models.TextChoices):
        SPANISH = "es", _("Spanish")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="translations"
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.SPANISH
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300)
    body = models.TextField(
        _("body"), help_text=_("Markdown, with the same sections as the original (“## ” and “### ”).")
    )
    conclusion = models.TextField(_("closing words"), blank=True, help_text=_("Markdown."))
    body_html = models.TextField(editable=False, blank=True, default="")
    conclusion_html = models.TextField(editable=False, blank=True, default="")
    toc = models.JSONField(_("table of contents"), editable=False, blank=True, default=list)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.DRAFT,
        help_text=_("Only a published translation, clinically reviewed, is shown to patients."),
    )
    translator = models.CharField(
        _("translated by"), max_length=200, blank=True, help_text=_("A person, never a machine translation.")
    )
    reviewer_name = models.CharField(
        _("clinical reviewer"),
        max_length=200,
        blank=True,
        help_text=_("The clinician who checked the translation against the original."),
    )
    reviewer_credentials = models.CharField(_("reviewer's credentials"), max_length=200, blank=True)
    last_reviewed = models.DateField(_("last reviewed"), null=True, blank=True)
    next_review_due = models.DateField(_("next review due"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ArticleTranslationQuerySet.as_manager()

    class Meta:
        ordering = ["article", "language"]
        verbose_name = _("article translation")
        verbose_name_plural = _("article translations")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "language"], name="education_translation_one_per_language"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(last_reviewed__isnull=False) & ~Q(reviewer_name="")),
                name="education_translation_published_is_reviewed",
                violation_error_message=_(
                    "A published translation needs its clinical reviewer and review date."
                ),
            ),
            models.CheckConstraint(
                condition=Q(last_reviewed__isnull=True)
                | Q(next_review_due__isnull=True)
                | Q(next_review_due__gt=F("last_reviewed")),
                name="education_translation_review_due_after_review",
                violation_error_message=_("The next review must be due after the last review."),
            ),
        ]

    def __str__(self):
        return f"{self.article} ({self.get_language_display()})"

    def save(self, *args, **kwargs):
        used_ids = set(PAGE_IDS)
        body = render_markdown(self.body, used_ids=used_ids)
        conclusion = render_markdown(self.conclusion, used_ids=used_ids)
        self.body_html = body.html
        self.conclusion_html = conclusion.html
        self.toc = [{**entry, "part": "body"} for entry in body.toc] + [
            {**entry, "part": "conclusion"} for entry in conclusion.toc
        ]
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        errors = {}
        if self.status == self.Status.PUBLISHED:
            if not self.reviewer_name.strip():
                errors["reviewer_name"] = _("A published translation needs its clinical reviewer.")
            if self.last_reviewed is None:
                errors["last_reviewed"] = _("A published translation needs the date it was reviewed.")
        if self.last_reviewed and self.next_review_due and self.next_review_due <= self.last_reviewed:
            errors["next_review_due"] = _("The next review must be due after the last review.")
        if errors:
            raise ValidationError(errors)


def translate_articles(articles, language):
    """Show ``articles`` (in memory, never saved) in ``language`` where a published translation exists.

    Each article gets ``translated``: True when its words are now in ``language``; the others keep
    their English words, which the pages mark as English (``lang="en"``). One query for them all.
    """
    articles = list(articles)
    found = {
        translation.article_id: translation
        for translation in ArticleTranslation.objects.published().filter(
            language=language, article__in=[article.pk for article in articles]
        )
    }
    for article in articles:
        translation = found.get(article.pk)
        article.translated = translation is not None
        if translation is not None:
            for name in TRANSLATED_FIELDS:
                setattr(article, name, getattr(translation, name))
    return articles

"""The editors' workspace for the education library."""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import REVIEW_DUE_SOON_DAYS, Article, FAQEntry, Topic, library_content_changed
from .services import article_publish, article_unpublish


class FAQEntryInline(admin.StackedInline):
    model = FAQEntry
    fields = ["position", "question", "answer"]
    extra = 0
    ordering = ["position", "pk"]


class ReviewStateFilter(admin.SimpleListFilter):
    title = _("review state")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue for review")),
            ("due_soon", _("Due within %(days)d days") % {"days": REVIEW_DUE_SOON_DAYS}),
            ("current", _("Up to date")),
            ("unset", _("No review date")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        soon = today + datetime.timedelta(days=REVIEW_DUE_SOON_DAYS)
        match self.value():
            case "overdue":
                return queryset.overdue_for_review(today=today)
            case "due_soon":
                return queryset.filter(next_review_due__gte=today, next_review_due__lte=soon)
            case "current":
                return queryset.filter(next_review_due__gt=soon)
            case "unset":
                return queryset.filter(next_review_due__isnull=True)
        return queryset


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "article_count"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(article_count=Count("articles"))

    @admin.display(description=_("articles"), ordering="article_count")
    def article_count(self, obj):
        return obj.article_count

    def delete_queryset(self, request, queryset):
        # A bulk delete bypasses Topic.delete(), which marks the library's cached pages stale.
        super().delete_queryset(request, queryset)
        library_content_changed()


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "status",
        "visibility",
        "published_at",
        "topic_list",
        "next_review_due",
        "overdue_for_review",
        "updated_at",
    ]
    list_display_links = ["title"]
    list_filter = ["status", "topics", ReviewStateFilter]
    search_fields = ["title", "slug", "summary"]
    date_hierarchy = "published_at"
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["topics"]
    inlines = [FAQEntryInline]
    actions = ["publish", "unpublish"]
    readonly_fields = ["preview_link", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "summary", "topics", "preview_link"]}),
        (_("Text"), {"fields": ["body", "conclusion"]}),
        (_("Publishing"), {"fields": ["status", "published_at"]}),
        (
            _("Clinical review"),
            {"fields": ["reviewer_name", "reviewer_credentials", "last_reviewed", "next_review_due"]},
        ),
        (
            _("Images"),
            {
                "classes": ["collapse"],
                "fields": [
                    "hero_image",
                    "hero_image_alt",
                    "hero_image_credit",
                    "faq_image",
                    "faq_image_alt",
                    "faq_image_credit",
                ],
            },
        ),
        (_("Record"), {"classes": ["collapse"], "fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("topics")

    def delete_queryset(self, request, queryset):
        # A bulk delete bypasses Article.delete(), which marks the library's cached pages stale.
        super().delete_queryset(request, queryset)
        library_content_changed()

    @admin.display(description=_("topics"))
    def topic_list(self, obj):
        return ", ".join(topic.name for topic in obj.topics.all()) or "–"

    @admin.display(description=_("public"), boolean=True)
    def visibility(self, obj):
        return obj.is_public

    @admin.display(description=_("overdue for review"), boolean=True, ordering="next_review_due")
    def overdue_for_review(self, obj):
        return obj.is_overdue_for_review

    @admin.display(description=_("page"))
    def preview_link(self, obj):
        if not obj.pk:
            return "–"
        label = _("View the article") if obj.is_public else _("Preview (staff only)")
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', obj.get_absolute_url(), label
        )

    def _apply(self, request, queryset, service):
        """Run ``service`` on each article; report the ones whose content stops it."""
        done = 0
        for article in queryset:
            try:
                service(article=article)
            except ValidationError as error:
                self.message_user(
                    request,
                    _("“%(title)s” was left as it was: %(problems)s")
                    % {"title": article.title, "problems": " ".join(error.messages)},
                    messages.ERROR,
                )
            else:
                done += 1
        return done

    @admin.action(description=_("Publish the selected articles"), permissions=["change"])
    def publish(self, request, queryset):
        count = self._apply(request, queryset, article_publish)
        self.message_user(
            request,
            ngettext("%(count)d article published.", "%(count)d articles published.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish the selected articles"), permissions=["change"])
    def unpublish(self, request, queryset):
        count = self._apply(request, queryset, article_unpublish)
        self.message_user(
            request,
            ngettext("%(count)d article unpublished.", "%(count)d articles unpublished.", count)
            % {"count": count},
            messages.SUCCESS,
        )

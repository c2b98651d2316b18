"""The editors' workspace for the education library."""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms import CheckboxSelectMultiple, MultipleChoiceField
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import (
    REVIEW_DUE_SOON_DAYS,
    STATES,
    Article,
    ArticleTranslation,
    ClinicProfile,
    Closure,
    FAQEntry,
    OpeningHours,
    SafetyNotice,
    SearchMiss,
    SearchSynonym,
    Topic,
    TreatmentPrice,
    library_content_changed,
)
from .services import article_publish, article_unpublish, clinic_facts_record_change, clinic_profile_save


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
        (_("Safety information"), {"fields": ["safety_notice"]}),
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
        # A bulk delete bypasses Article.delete(), which drops the library's cached pages (before,
        # while the articles' addresses are listed, and after).
        library_content_changed()
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
            '<a href="{}" target="_blank" rel="noopener">{}</a>', self.view_on_site(obj), label
        )

    def view_on_site(self, obj):
        """The public page, or the staff preview while the public cannot see the article."""
        if obj.is_public:
            return obj.get_absolute_url()
        return reverse("education:article_preview", kwargs={"slug": obj.slug})

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


class FactsInline(admin.TabularInline):
    extra = 0
    readonly_fields = ["is_sample"]


class OpeningHoursInline(FactsInline):
    model = OpeningHours
    fields = ["weekday", "opens", "closes", "is_sample"]


class ClosureInline(FactsInline):
    model = Closure
    fields = ["first_day", "last_day", "reason", "is_sample"]


class TreatmentPriceInline(admin.StackedInline):
    model = TreatmentPrice
    extra = 0
    fields = [
        ("kind", "position"),
        ("price", "unit"),
        ("typical_series", "series_price"),
        "insurance",
        "is_sample",
    ]
    readonly_fields = ["is_sample"]


@admin.register(ClinicProfile)
class ClinicProfileAdmin(admin.ModelAdmin):
    """The clinic's one set of facts; values still as ``make run`` filled them are marked as samples."""

    list_display = ["name", "phone", "sample_count", "updated_at"]
    inlines = [OpeningHoursInline, ClosureInline, TreatmentPriceInline]
    fieldsets = [
        (_("Contact"), {"fields": ["name", "phone", "email", "time_zone"]}),
        (_("Address"), {"fields": ["street_address", "locality", "region", "postal_code"]}),
        (_("Costs"), {"fields": ["consultation_fee", "consultation_fee_note", "insurance_note"]}),
        (_("Who we can see"), {"fields": ["minimum_age", "states_served"]}),
        (
            _("What to expect"),
            {"fields": ["first_consultation", "treatment_day", "aftercare", "what_to_bring"]},
        ),
        (_("Staff only"), {"fields": ["urgent_protocol"]}),
    ]

    def has_add_permission(self, request):
        # One profile only. Every admin page asks (for its sidebar): only this model's own pages
        # pay for the query; elsewhere the clinic's facts are reached through their list.
        match = request.resolver_match
        own_page = match is not None and (match.url_name or "").startswith("education_clinicprofile_")
        return own_page and super().has_add_permission(request) and not ClinicProfile.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("sample values left"))
    def sample_count(self, obj):
        return len(obj.sample_fields)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "states_served":
            return MultipleChoiceField(
                choices=STATES, required=False, label=db_field.verbose_name, widget=CheckboxSelectMultiple
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["sample_labels"] = [
                ClinicProfile._meta.get_field(name).verbose_name for name in obj.sample_fields
            ]
            context["sample_rows"] = (
                obj.opening_hours.filter(is_sample=True).exists()
                or obj.closures.filter(is_sample=True).exists()
                or obj.prices.filter(is_sample=True).exists()
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        clinic_profile_save(profile=obj, changed_fields=list(form.changed_data), by=request.user)

    def save_formset(self, request, form, formset, change):
        changed = [f for f in formset.forms if f.has_changed() and f not in formset.deleted_forms]
        for inline_form in changed:
            inline_form.instance.is_sample = False
        super().save_formset(request, form, formset, change)
        if changed or formset.deleted_objects:
            clinic_facts_record_change(by=request.user, what=[str(formset.model._meta.verbose_name_plural)])


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    list_display = ["terms", "updated_at"]
    search_fields = ["terms"]

    def delete_queryset(self, request, queryset):
        # A bulk delete bypasses SearchSynonym.delete(), which marks the library's cached pages stale.
        super().delete_queryset(request, queryset)
        library_content_changed()


@admin.register(SearchMiss)
class SearchMissAdmin(admin.ModelAdmin):
    """What patients searched for and did not find: the words and how often, nothing about who."""

    list_display = ["term", "count", "last_searched", "first_searched"]
    search_fields = ["term"]
    date_hierarchy = "last_searched"
    readonly_fields = ["term", "count", "first_searched", "last_searched"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SafetyNotice)
class SafetyNoticeAdmin(admin.ModelAdmin):
    list_display = ["title", "key", "reviewer_name", "last_reviewed", "next_review_due"]
    search_fields = ["title", "key", "body"]
    fieldsets = [
        (None, {"fields": ["title", "key", "body"]}),
        (
            _("Clinical review"),
            {"fields": ["reviewer_name", "reviewer_credentials", "last_reviewed", "next_review_due"]},
        ),
    ]

    def delete_queryset(self, request, queryset):
        # A bulk delete bypasses SafetyNotice.delete(), which marks the library's cached pages stale.
        super().delete_queryset(request, queryset)
        library_content_changed()


@admin.register(ArticleTranslation)
class ArticleTranslationAdmin(admin.ModelAdmin):
    """Translations written by a person and reviewed by a clinician, like the original articles."""

    list_display = [
        "title",
        "article",
        "language",
        "status",
        "last_reviewed",
        "next_review_due",
        "updated_at",
    ]
    list_select_related = ["article"]
    list_filter = ["language", "status"]
    search_fields = ["title", "article__title", "article__slug"]
    autocomplete_fields = ["article"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["article", "language", "title", "summary", "translator"]}),
        (_("Text"), {"fields": ["body", "conclusion"]}),
        (
            _("Publishing and clinical review"),
            {
                "fields": [
                    "status",
                    "reviewer_name",
                    "reviewer_credentials",
                    "last_reviewed",
                    "next_review_due",
                ],
                "description": _(
                    "Patients see a translation once it is published, which needs a clinical reviewer and "
                    "a review date. Until then the Spanish site shows the English article with a note."
                ),
            },
        ),
        (_("Record"), {"classes": ["collapse"], "fields": ["created_at", "updated_at"]}),
    ]

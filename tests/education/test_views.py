"""The library's pages as a patient sees them, and what the public never sees."""

import datetime
import json
import re
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from education.models import Article
from tests.factories import ArticleFactory, FAQEntryFactory, TopicFactory

from .conftest import visible_text

pytestmark = pytest.mark.django_db

LEARN = "/learn/"


def json_ld(page_html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page_html, re.S)
    return [json.loads(block) for block in blocks]


# ---- /learn/ ----


def test_library_lists_articles_by_topic_newest_first(client):
    bipolar = TopicFactory(name="Bipolar disorder", slug="bipolar-disorder")
    depression = TopicFactory(name="Depression", slug="depression")
    now = timezone.now()
    older = ArticleFactory(
        title="Older bipolar article", topics=[bipolar], published_at=now - datetime.timedelta(days=9)
    )
    newer = ArticleFactory(
        title="Newer bipolar article", topics=[bipolar], published_at=now - datetime.timedelta(days=1)
    )
    ArticleFactory(title="Depression article", topics=[depression])
    ArticleFactory(title="Article without a topic")
    response = client.get(LEARN)
    assert response.status_code == 200
    text = visible_text(response.content.decode())
    assert text.index("Bipolar disorder") < text.index(newer.title) < text.index(older.title)
    assert text.index(older.title) < text.index("Depression article")
    assert (
        text.index("Depression article")
        < text.rindex("More articles")
        < text.index("Article without a topic")
    )
    assert 'id="topic-bipolar-disorder"' in response.content.decode()


def test_library_leaves_out_drafts_and_scheduled_articles(client):
    ArticleFactory(title="A public article")
    ArticleFactory(title="A draft article", draft=True)
    ArticleFactory(title="A scheduled article", scheduled=True)
    html = client.get(LEARN).content.decode()
    assert "A public article" in html
    assert "A draft article" not in html
    assert "A scheduled article" not in html


def test_library_with_no_articles_still_offers_a_way_forward(client):
    response = client.get(LEARN)
    assert response.status_code == 200
    assert "Our first articles are on their way" in response.content.decode()


def test_library_has_title_description_canonical_and_feed(client):
    html = client.get(LEARN).content.decode()
    assert "<title>Learn – Anti Aging and Ketamine Center</title>" in html
    assert '<link rel="canonical" href="http://127.0.0.1:8000/learn/">' in html
    assert 'type="application/atom+xml"' in html
    assert 'href="/learn/feed/"' in html


# ---- search ----


def test_search_finds_by_stem_ranks_and_highlights(client):
    ArticleFactory(title="Infusions explained", body="How an infusion is given, step by step.")
    ArticleFactory(
        title="Nasal spray", body="Some people receive ketamine by nasal spray instead of infusions."
    )
    ArticleFactory(title="Unrelated", body="Nothing about the search words.")
    response = client.get(LEARN, {"q": "infusion"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 articles match “infusion”" in html
    assert html.index("<mark>Infusions</mark> explained") < html.index("Nasal spray")
    assert "<mark>infusions</mark>" in html
    assert "Unrelated" not in html
    assert '<meta name="robots" content="noindex, follow">' in html


def test_search_leaves_out_drafts_and_scheduled_articles(client):
    ArticleFactory(title="Public infusion article")
    ArticleFactory(title="Draft infusion article", draft=True)
    ArticleFactory(title="Scheduled infusion article", scheduled=True)
    html = client.get(LEARN, {"q": "infusion"}).content.decode()
    assert "Public" in html
    assert "Draft infusion" not in html
    assert "Scheduled infusion" not in html


def test_search_with_no_match_is_kind_and_offers_a_way_forward(client):
    ArticleFactory()
    response = client.get(LEARN, {"q": "xylophone"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No articles match “xylophone”" in html
    assert "We couldn’t find an article about that yet" in html
    assert 'href="/learn/"' in html
    assert 'href="/consultation/"' in html
    assert 'href="tel:+15550100100"' in html


def test_search_escapes_what_was_typed(client):
    html = client.get(LEARN, {"q": '<script>alert("q")</script>'}).content.decode()
    assert '<script>alert("q")' not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "terms",
    [
        "",
        " ",
        "a" * 10_000,
        "ketamine " * 2_000,
        "'; DROP TABLE education_article; --",
        "' OR 1=1 --",
        "\\",
        "&|!():*<->",
        '"unclosed',
        "-",
        "or",
        "the and of",
        "ケタミン 双相情感障碍 اضطراب 🙂",
        "é" * 300,
        "\x00",
        "side\x00effects",
        "%00",
        "\ud7ff\ue000\ue001",
    ],
)
def test_any_search_string_gives_a_page_never_an_error(client, terms):
    ArticleFactory(title="Side effects of ketamine", body="Common side effects include nausea.")
    response = client.get(LEARN, {"q": terms})
    assert response.status_code == 200
    assert "Search the articles" in response.content.decode()


def test_search_finds_the_seed_article_by_its_body_and_its_faq(client, seed_article):
    html = client.get(LEARN, {"q": "mechanisms of glutamate"}).content.decode()
    assert "1 article matches" in html
    assert "<mark>glutamate</mark>" in html
    html = client.get(LEARN, {"q": "insurance"}).content.decode()
    assert "1 article matches" in html
    assert "<mark>insurance</mark>" in html


# ---- /learn/<slug>/ ----


@pytest.fixture
def article(db):
    topic = TopicFactory(name="Bipolar disorder", slug="bipolar-disorder")
    article = ArticleFactory(
        title="Ketamine and mood",
        slug="ketamine-and-mood",
        summary="What ketamine may do for mood, and what to weigh.",
        body="Intro paragraph.\n\n## How it works\n\nText.\n\n### In the brain\n\nMore text.",
        conclusion="Closing words.",
        reviewer_name="Dr Jane Example",
        reviewer_credentials="MD, psychiatrist",
        last_reviewed=datetime.date(2026, 3, 2),
        next_review_due=datetime.date(2027, 3, 2),
        hero_image_credit="Photo by Someone from Pexels",
        topics=[topic],
    )
    FAQEntryFactory(
        article=article, question="Does it hurt?", answer="Most people feel *no* pain.", position=1
    )
    FAQEntryFactory(article=article, question="How long does it take?", answer="About an hour.", position=2)
    return article


def test_article_page_shows_contents_body_faq_and_closing_words(client, article):
    response = client.get("/learn/ketamine-and-mood/")
    assert response.status_code == 200
    html = response.content.decode()
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S).group(0)
    assert re.findall(r'href="#([^"]+)"', toc) == ["how-it-works", "in-the-brain", "faq"]
    assert '<h2 id="how-it-works">How it works</h2>' in html
    assert '<section class="faq" id="faq" aria-labelledby="faq-title">' in html
    assert re.findall(
        r'<details class="faq__item">\s*<summary class="faq__question">([^<]+)</summary>', html
    ) == [
        "Does it hurt?",
        "How long does it take?",
    ]
    assert "Most people feel <em>no</em> pain." in html
    text = visible_text(html)
    assert text.index("More text.") < text.index("Does it hurt?") < text.index("Closing words.")


def test_article_page_shows_the_review_in_the_nhs_pattern(client, article):
    text = visible_text(client.get("/learn/ketamine-and-mood/").content.decode())
    assert (
        "Reviewed by Dr Jane Example, MD, psychiatrist · Page last reviewed: March 2, 2026 · "
        "Next review due: March 2, 2027"
    ) in text


def test_article_page_has_disclaimer_cta_phone_and_credits(client, article):
    html = client.get("/learn/ketamine-and-mood/").content.decode()
    text = visible_text(html)
    assert "Medical disclaimer" in text
    assert "It is not medical advice" in text
    assert 'href="/consultation/?from=ketamine-and-mood"' in html
    assert 'href="tel:+15550100100"' in html
    assert "Call (555) 010-0100" in text
    # A credit waits in the data until its photo is on the page.
    assert "Photo by Someone from Pexels" not in text
    article.hero_image.name = "education/articles/calm-room.jpg"
    article.hero_image_alt = "A quiet treatment room"
    article.save()
    text = visible_text(client.get("/learn/ketamine-and-mood/").content.decode())
    assert "Photo by Someone from Pexels" in text


def test_article_page_head_has_title_description_canonical_and_open_graph(client, article):
    html = client.get("/learn/ketamine-and-mood/").content.decode()
    assert "<title>Ketamine and mood – Anti Aging and Ketamine Center</title>" in html
    assert '<meta name="description" content="What ketamine may do for mood, and what to weigh.">' in html
    assert '<link rel="canonical" href="http://127.0.0.1:8000/learn/ketamine-and-mood/">' in html
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="og:title" content="Ketamine and mood">' in html
    assert '<meta property="og:url" content="http://127.0.0.1:8000/learn/ketamine-and-mood/">' in html
    assert (
        '<meta property="og:description" content="What ketamine may do for mood, and what to weigh.">' in html
    )
    assert "noindex" not in html


def test_article_structured_data_parses_and_names_the_right_types(client, article):
    (data,) = json_ld(client.get("/learn/ketamine-and-mood/").content.decode())
    assert data["@context"] == "https://schema.org"
    graph = {node["@type"]: node for node in data["@graph"]}
    assert set(graph) == {"MedicalWebPage", "FAQPage", "BreadcrumbList"}
    page = graph["MedicalWebPage"]
    assert page["lastReviewed"] == "2026-03-02"
    assert page["reviewedBy"] == {
        "@type": "Person",
        "name": "Dr Jane Example",
        "jobTitle": "MD, psychiatrist",
    }
    assert page["about"] == [{"@type": "MedicalCondition", "name": "Bipolar disorder"}]
    assert page["url"] == "http://127.0.0.1:8000/learn/ketamine-and-mood/"
    questions = graph["FAQPage"]["mainEntity"]
    assert [q["@type"] for q in questions] == ["Question", "Question"]
    assert questions[0]["name"] == "Does it hurt?"
    assert questions[0]["acceptedAnswer"] == {"@type": "Answer", "text": "Most people feel no pain."}
    crumbs = graph["BreadcrumbList"]["itemListElement"]
    assert [c["name"] for c in crumbs] == ["Home", "Learn", "Ketamine and mood"]
    assert [c["position"] for c in crumbs] == [1, 2, 3]


def test_seed_article_structured_data_names_a_team_as_an_organization(client, seed_article):
    (data,) = json_ld(client.get(seed_article.get_absolute_url()).content.decode())
    page = next(node for node in data["@graph"] if node["@type"] == "MedicalWebPage")
    assert page["reviewedBy"] == {
        "@type": "Organization",
        "name": "Clinical team, Anti Aging and Ketamine Center",
    }
    faq = next(node for node in data["@graph"] if node["@type"] == "FAQPage")
    assert len(faq["mainEntity"]) == 4


def test_article_page_shows_related_articles_by_topic(client, article):
    topic = article.topics.get()
    ArticleFactory(title="Another bipolar article", topics=[topic])
    ArticleFactory(title="A draft bipolar article", topics=[topic], draft=True)
    ArticleFactory(title="An anxiety article", topics=[TopicFactory(name="Anxiety")])
    text = visible_text(client.get("/learn/ketamine-and-mood/").content.decode())
    assert "Related articles" in text
    assert "Another bipolar article" in text
    assert "A draft bipolar article" not in text
    assert "An anxiety article" not in text


def test_unknown_slug_is_the_branded_404(client):
    response = client.get("/learn/no-such-article/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We can’t find that page" in html
    assert 'href="/learn/"' in html
    assert 'href="tel:+15550100100"' in html


@pytest.mark.parametrize("traits", [{"draft": True}, {"scheduled": True}])
def test_public_gets_404_for_drafts_and_scheduled_articles(client, traits):
    article = ArticleFactory(slug="not-yet", **traits)
    assert client.get(article.get_absolute_url()).status_code == 404


def test_staff_can_preview_a_draft_which_is_never_cached_or_indexed(staff_client):
    ArticleFactory(slug="work-in-progress", title="Work in progress", draft=True)
    response = staff_client.get("/learn/work-in-progress/preview/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This article is a draft: only staff can see this page." in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response["X-Robots-Tag"] == "noindex"
    assert "no-store" in response["Cache-Control"]


def test_staff_without_a_second_factor_cannot_preview(client, django_user_model):
    user = django_user_model.objects.create_superuser("half", "half@clinic.example", "a long passphrase here")
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    ArticleFactory(slug="work-in-progress", draft=True)
    assert client.get("/learn/work-in-progress/preview/").status_code == 404


def test_a_staff_edit_shows_live(client, article):
    client.get("/learn/ketamine-and-mood/")
    Article.objects.filter(pk=article.pk).update(title="Ketamine and your mood")
    article.refresh_from_db()
    article.body = article.body.replace("Intro paragraph.", "Intro paragraph, typo fixed.")
    article.save()
    html = client.get("/learn/ketamine-and-mood/").content.decode()
    assert "Ketamine and your mood" in html
    assert "Intro paragraph, typo fixed." in html


# ---- home ----


def test_home_features_the_three_latest_public_articles(client):
    now = timezone.now()
    for days in range(1, 6):
        ArticleFactory(
            title=f"Article from {days} days ago", published_at=now - datetime.timedelta(days=days)
        )
    ArticleFactory(title="Draft on the home page", draft=True)
    html = client.get("/").content.decode()
    titles = re.findall(r'<h3 class="article-card__title"><a href="[^"]+">([^<]+)</a></h3>', html)
    assert titles == ["Article from 1 days ago", "Article from 2 days ago", "Article from 3 days ago"]
    assert 'href="/learn/"' in html


def test_home_reaches_the_seed_article(client, seed_article):
    html = client.get("/").content.decode()
    assert f'href="{seed_article.get_absolute_url()}"' in html


# ---- bad input: what staff type never runs in a patient's browser ----

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "</script><script>alert(1)</script>",
    "[click me](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<p style="background:url(javascript:alert(1))" onclick="alert(1)">p</p>',
]


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def assert_inert(page_html):
    parser = _Elements()
    parser.feed(page_html)
    for tag, attrs in parser.elements:
        assert tag not in {"iframe", "svg", "object", "embed"}, tag
        if tag == "script":
            # Structured data, or a script file of the site's own: never code from the page's content.
            own_file = set(attrs) == {"src", "defer"} and attrs["src"].startswith("/static/clinic/js/")
            assert attrs == {"type": "application/ld+json"} or own_file, attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in {"href", "src"} and value:
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (
                    tag,
                    value,
                )
    for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', page_html, re.S):
        json.loads(block)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payloads_come_out_inert(client, payload):
    topic = TopicFactory(name=f"Topic {payload}"[:100])
    article = ArticleFactory(
        slug="xss",
        title=f"Title {payload}"[:200],
        summary=f"Summary {payload}"[:300],
        body=f"## Heading {payload}\n\nBody {payload}",
        conclusion=f"Closing {payload}",
        hero_image="education/articles/photo.jpg",
        hero_image_alt=f"Alt {payload}",
        hero_image_credit=f"Credit {payload}",
        reviewer_name=f"Reviewer {payload}"[:200],
        topics=[topic],
    )
    FAQEntryFactory(article=article, question=f"Question {payload}"[:300], answer=f"Answer {payload}")
    for url in ["/learn/xss/", LEARN, f"{LEARN}?q=title", "/", "/learn/feed/", "/sitemap.xml"]:
        response = client.get(url)
        assert response.status_code == 200, url
        if response["Content-Type"].startswith("text/html"):
            assert_inert(response.content.decode())


def test_structured_data_cannot_be_broken_out_of(client):
    ArticleFactory(slug="breakout", title="</script><script>alert(1)</script>")
    html = client.get("/learn/breakout/").content.decode()
    (data,) = json_ld(html)
    page = next(node for node in data["@graph"] if node["@type"] == "MedicalWebPage")
    assert page["name"] == "</script><script>alert(1)</script>"
    assert "<script>alert(1)" not in html


def test_hero_image_shows_with_its_alt_text_and_is_shared(client):
    ArticleFactory(
        slug="with-image",
        hero_image="education/articles/calm-room.jpg",
        hero_image_alt="A calm treatment room with a reclining chair",
        hero_image_credit="Photo by Someone from Pexels",
    )
    html = client.get("/learn/with-image/").content.decode()
    assert (
        '<img src="/media/education/articles/calm-room.jpg" alt="A calm treatment room with a reclining chair">'
        in html
    )
    assert (
        '<meta property="og:image" content="http://127.0.0.1:8000/media/education/articles/calm-room.jpg">'
        in html
    )
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    (data,) = json_ld(html)
    page = next(node for node in data["@graph"] if node["@type"] == "MedicalWebPage")
    assert page["primaryImageOfPage"]["url"] == "http://127.0.0.1:8000/media/education/articles/calm-room.jpg"


def test_article_without_an_image_has_no_empty_figure(client, article):
    html = client.get("/learn/ketamine-and-mood/").content.decode()
    assert "<figure" not in html
    assert "og:image" not in html


def test_staff_preview_of_a_scheduled_article_says_when_it_goes_live(staff_client):
    ArticleFactory(slug="coming-soon", scheduled=True)
    html = staff_client.get("/learn/coming-soon/preview/").content.decode()
    assert "This article is scheduled: the public sees it from" in html


def test_is_public_agrees_with_published():
    now = timezone.now()
    articles = [
        ArticleFactory(),
        ArticleFactory(draft=True),
        ArticleFactory(scheduled=True),
        ArticleFactory(status=Article.Status.DRAFT, published_at=now - datetime.timedelta(days=1)),
        ArticleFactory(published_at=now - datetime.timedelta(seconds=1)),
    ]
    public = set(Article.objects.published().values_list("pk", flat=True))
    assert {article.pk for article in articles if article.is_public} == public
    assert len(public) == 2

"""Search as patients use it, against the clinic's seeded article, facts and synonyms."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command

from education.models import SearchMiss, SearchSynonym
from education.search import concepts

pytestmark = pytest.mark.django_db

LEARN = "/learn/"
ARTICLE = "/learn/ketamine-for-bipolar-disorder/"


@pytest.fixture
def seeded(db):
    """The article, the clinic's facts and the synonyms, as `make run` loads them."""
    call_command("load_clinic_content", stdout=open("/dev/null", "w"))  # noqa: SIM115


def result_links(response):
    assert response.status_code == 200
    html = response.content.decode()
    results = html[
        html.index('id="results-title"') : html.index("</section>", html.index('id="results-title"'))
    ]
    return re.findall(r'<h[34] class="article-card__title"><a href="([^"]+)">', results)


def split(link):
    parts = urlsplit(link.replace("&amp;", "&"))
    return parts.path, parse_qs(parts.query).get("hl", [""])[0].split(), parts.fragment


@pytest.mark.parametrize("word", ["spravato", "esketamine", "Spravato", "nasal spray"])
def test_spravato_and_esketamine_find_the_nasal_spray(client, seeded, word):
    links = [split(link) for link in result_links(client.get(LEARN, {"q": word}))]
    paths = [path for path, _, _ in links]
    assert ARTICLE in paths
    assert "/costs/" in paths
    # The article speaks of "nasal spray": that answer is where the result lands.
    path, highlight, anchor = next(link for link in links if link[0] == ARTICLE)
    assert anchor == "faq-answer-2"
    assert highlight == ["nasal", "spray"]


def test_a_typo_offers_did_you_mean_and_shows_its_results(client, seeded):
    response = client.get(LEARN, {"q": "ketmine"})
    html = response.content.decode()
    assert 'Did you mean <a href="/learn/?q=ketamine">ketamine</a>?' in html
    assert "Nothing matched “ketmine”." in html
    assert "Results for “ketamine”" in html
    assert ARTICLE in [split(link)[0] for link in result_links(response)]
    # Corrected, it found something: not counted as a search that found nothing.
    assert not SearchMiss.objects.exists()


def test_how_much_does_it_cost_finds_the_costs_page_and_the_insurance_answer(client, seeded):
    links = [split(link) for link in result_links(client.get(LEARN, {"q": "how much does it cost"}))]
    assert links[0] == (ARTICLE, ["insurance", "insurers"], "faq-answer-4")
    assert links[1] == ("/costs/", ["insurers", "pay"], "insurance")


def test_side_effects_lands_on_the_faq_answer_with_the_words_to_highlight(client, seeded):
    (link,) = result_links(client.get(LEARN, {"q": "side effects"}))
    path, highlight, anchor = split(link)
    assert (path, anchor) == (ARTICLE, "faq-answer-1")
    assert highlight == ["side", "effects"]
    page = client.get(f"{path}?hl=side+effects").content.decode()
    assert '<div class="faq__answer prose" id="faq-answer-1">' in page
    assert "What Are the Potential Side Effects of Ketamine Treatment?" in page
    assert "clinic/js/search-highlight.js" in page


def test_the_facts_pages_are_searchable(client, seeded):
    links = [split(link) for link in result_links(client.get(LEARN, {"q": "photo ID"}))]
    assert links == [("/what-to-expect/", ["photo", "id"], "what-to-bring")]


def test_synonyms_are_data_editors_extend(client, seeded):
    assert result_links(client.get(LEARN, {"q": "blues"})) == []
    SearchSynonym.objects.create(terms="Blues, Depression")
    assert ARTICLE in [split(link)[0] for link in result_links(client.get(LEARN, {"q": "blues"}))]


def test_concepts_group_phrases_and_their_synonyms():
    groups = [["spravato", "esketamine", "nasal spray"], ["bipolar", "manic depression"]]
    assert concepts("Manic depression and nasal spray", groups) == [
        ["manic depression", "bipolar"],
        ["and"],
        ["nasal spray", "spravato", "esketamine"],
    ]


def test_searches_that_find_nothing_are_counted_without_personal_data(client, seeded):
    for terms in ["zzyzx quux", "ZZYZX   quux", "maria@example.com", "zzyzx 212 555 0199"]:
        response = client.get(LEARN, {"q": terms})
        assert response.status_code == 200
        assert "No articles match" in response.content.decode()
    assert list(SearchMiss.objects.values_list("term", "count")) == [("zzyzx quux", 2)]


def test_staff_dashboard_lists_the_searches_that_found_nothing(staff_client, seeded):
    client = staff_client
    for _ in range(3):
        client.get(LEARN, {"q": "microdosing"})
    client.get(LEARN, {"q": "psilocybin"})
    html = client.get("/admin/").content.decode()
    section = html[html.index("Searches that found nothing") :]
    assert section.index("microdosing") < section.index("psilocybin")
    assert re.search(r"<td>microdosing</td><td class=\"search-misses__count\">3</td>", section)

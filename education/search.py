"""The library's search as patients use it: synonyms, typo tolerance, and links to the part that matched.

A search is read as "concepts": each word, or each phrase an editor listed as a synonym, stands
for itself and its synonyms (``spravato`` also finds ``esketamine`` and ``nasal spray``). Articles
must match every concept; when none does, any concept will do. Each result links to the section
or FAQ answer that matched best, with the words to highlight there (``?hl=``). The clinic's facts
pages (costs, what to expect) are searched too. A search that finds nothing offers the closest
words the library knows (PostgreSQL's trigram similarity: "ketmine" → "did you mean ketamine?")
and is counted, as words only, for the editors.
"""

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Prefetch
from django.db.models.sql import Query
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.translation import gettext

from clinic import details

from .models import (
    HIGHLIGHT_START,
    HIGHLIGHT_STOP,
    SEARCH_CONFIG,
    Article,
    FAQEntry,
    SearchSynonym,
    clean_search_terms,
)

RESULTS = 20
WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)</h\1>', re.S)
# Words shorter than this are not corrected: too many near neighbours.
SUGGEST_MIN_LENGTH = 4
SUGGEST_SIMILARITY = 0.4
HEADLINE_OPTIONS = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxWords=35, MinWords=15, MaxFragments=1"
)


def words(text):
    return [word.lower() for word in WORD.findall(text)]


@dataclass
class Match:
    """One place a search matched: an article's section or a facts page's section."""

    url: str
    anchor: str
    heading: str
    snippet: str


@dataclass
class PageResult:
    title: str
    url: str
    snippet: str


@dataclass
class Outcome:
    terms: str
    results: list = field(default_factory=list)
    pages: list = field(default_factory=list)
    suggestion: str = ""
    corrected: bool = False

    @property
    def found(self):
        return bool(self.results or self.pages)


def _synonym_groups():
    """Each synonym group as a list of terms."""
    return [synonym.term_list for synonym in SearchSynonym.objects.all()]


def concepts(terms, groups):
    """The search's concepts, in order: each a list of alternatives (the typed words first)."""
    typed = words(terms)
    found = []
    used = [False] * len(typed)
    # Phrases first, longest first, so "manic depression" is one concept, not two.
    phrases = sorted(
        ((tuple(words(term)), group) for group in groups for term in group), key=lambda p: -len(p[0])
    )
    spans = []
    for phrase, group in phrases:
        n = len(phrase)
        if not n:
            continue
        for start in range(len(typed) - n + 1):
            if tuple(typed[start : start + n]) == phrase and not any(used[start : start + n]):
                used[start : start + n] = [True] * n
                spans.append((start, [" ".join(phrase), *[t for t in group if t != " ".join(phrase)]]))
    spans += [(i, [word]) for i, word in enumerate(typed) if not used[i]]
    seen = set()
    for _, alternatives in sorted(spans, key=lambda s: s[0]):
        if frozenset(alternatives) not in seen:
            seen.add(frozenset(alternatives))
            found.append(alternatives)
    return found


def _query(concept_list, *, any_concept=False):
    """A full-text query: every concept (or any), each matched by any of its alternatives."""
    query = None
    for alternatives in concept_list:
        part = None
        for alternative in alternatives:
            phrase = SearchQuery(alternative, search_type="phrase", config=SEARCH_CONFIG)
            part = phrase if part is None else part | phrase
        if query is None:
            query = part
        elif any_concept:
            query = query | part
        else:
            query = query & part
    return query


def _sql(expression):
    """The SQL and parameters of a search query, for the hand-written queries below."""
    query = Query(None)
    compiler = query.get_compiler(connection=connection)
    return expression.resolve_expression(query).as_sql(compiler, connection)


def _article_sections(article, faqs):
    """An article's parts that a result can link to: (anchor, heading, text)."""
    sections = []
    body = article.body_html
    marks = list(HEADING.finditer(body))
    intro = body[: marks[0].start()] if marks else body
    sections.append(("", article.title, _text(intro)))
    for n, mark in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(body)
        sections.append((mark.group(2), _text(mark.group(3)), _text(body[mark.start() : end])))
    for n, faq in enumerate(faqs, start=1):
        sections.append((f"faq-answer-{n}", faq.question, f"{faq.question} {faq.answer_text}"))
    if article.conclusion_html:
        sections.append(("", article.title, _text(article.conclusion_html)))
    return sections


def _text(fragment):
    return " ".join(html.unescape(strip_tags(fragment)).split())


def _facts_pages():
    """The clinic's facts pages as search sees them: (page key, title, url, [(anchor, heading, text)])."""
    facts = details.get()
    prices = " ".join(
        f"{price.kind}: ${price.price:,.0f} {price.unit}. {price.typical_series}. {price.insurance}"
        for price in facts.prices
    )
    who = gettext("Who we can see: adults aged %(age)s or over, in %(states)s.") % {
        "age": facts.minimum_age,
        "states": ", ".join(facts.states_served_names),
    }
    hours = " ".join(
        f"{group['first']}–{group['last']} {h.opens:%H:%M}–{h.closes:%H:%M}"
        for group in facts.week_summary
        for h in group["hours"]
    )
    fee = (
        gettext("The first consultation costs $%(fee)s.") % {"fee": f"{facts.consultation_fee:,.0f}"}
        if facts.consultation_fee
        else gettext("The first consultation is free.")
        if facts.consultation_fee is not None
        else ""
    )
    costs = reverse("costs")
    expect = reverse("what_to_expect")
    return [
        (
            "costs",
            gettext("Costs and insurance"),
            costs,
            [
                (
                    "consultation",
                    gettext("The first consultation"),
                    gettext("How much does it cost? %(fee)s %(note)s")
                    % {"fee": fee, "note": facts.consultation_fee_note},
                ),
                ("treatments", gettext("Treatment prices"), prices),
                ("insurance", gettext("Insurance"), facts.insurance_note),
                ("who", gettext("Who we can see"), who),
            ],
        ),
        (
            "what-to-expect",
            gettext("What to expect"),
            expect,
            [
                ("first-consultation", gettext("Your first consultation"), facts.first_consultation),
                ("treatment-day", gettext("A treatment day"), facts.treatment_day),
                ("after", gettext("After treatment"), facts.aftercare),
                ("what-to-bring", gettext("What to bring"), " ".join(facts.what_to_bring)),
                ("opening-hours", gettext("Opening hours"), f"{gettext('Opening hours')} {hours}"),
            ],
        ),
    ]


def _best_sections(query, documents):
    """Rank each document's sections against ``query`` in one query: {document: (anchor, heading, snippet)}.

    ``documents``: (document key, anchor, heading, text) rows.
    """
    rows = [row for row in documents if row[3]]
    if not rows:
        return {}
    query_sql, query_params = _sql(query)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params = [value for n, row in enumerate(rows) for value in (n, *row)]
    sql = f"""
        SELECT DISTINCT ON (doc) doc, anchor, heading,
               ts_headline(%s, body, q, %s) AS snippet
        FROM (VALUES {values}) AS section(n, doc, anchor, heading, body),
             LATERAL (SELECT {query_sql} AS q) AS search
        WHERE to_tsvector(%s, body) @@ q
        ORDER BY doc, ts_rank(to_tsvector(%s, body), q) DESC, n
    """  # noqa: S608 - only placeholders are interpolated
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [SEARCH_CONFIG, HEADLINE_OPTIONS, *params, *query_params, SEARCH_CONFIG, SEARCH_CONFIG]
        )
        return {doc: (anchor, heading, snippet) for doc, anchor, heading, snippet in cursor.fetchall()}


MARKED = re.compile(f"{HIGHLIGHT_START}(.*?){HIGHLIGHT_STOP}", re.S)


def _link(url, anchor, snippet):
    """A link to the matching part of a page, with the words that matched there to highlight."""
    marked = " ".join(dict.fromkeys(word for found in MARKED.findall(snippet) for word in words(found)))
    link = f"{url}?{urlencode({'hl': marked[:200]})}" if marked else url
    return link + (f"#{anchor}" if anchor else "")


def _run(concept_list, *, any_concept=False):
    query = _query(concept_list, any_concept=any_concept)
    articles = list(
        Article.objects.published()
        .search(query)
        .prefetch_related("topics", Prefetch("faqs", queryset=FAQEntry.objects.order_by("position", "pk")))[
            :RESULTS
        ]
    )
    documents = []
    for article in articles:
        documents += [
            (f"a{article.pk}", *section) for section in _article_sections(article, article.faqs.all())
        ]
    pages = _facts_pages()
    for key, _title, _url, sections in pages:
        documents += [(key, *section) for section in sections]
    best = _best_sections(query, documents)
    for article in articles:
        anchor, heading, snippet = best.get(f"a{article.pk}", ("", "", ""))
        article.result_url = _link(article.get_absolute_url(), anchor, snippet)
        article.result_section = heading if anchor else ""
        if snippet:
            article.snippet = snippet
    page_results = [
        PageResult(title=title, url=_link(url, best[key][0], best[key][2]), snippet=best[key][2])
        for key, title, url, _sections in pages
        if key in best
    ]
    return articles, page_results


def _suggest(concept_list):
    """The search with each word the library does not know replaced by its closest known word, or ""."""
    typed = [alternatives[0] for alternatives in concept_list]
    candidates = [word for word in typed if " " not in word and len(word) >= SUGGEST_MIN_LENGTH]
    if not candidates:
        return ""
    extra = set()
    for _key, title, _url, sections in _facts_pages():
        extra.update(words(title))
        for _anchor, heading, text in sections:
            extra.update(words(f"{heading} {text}"))
    for group in _synonym_groups():
        for term in group:
            extra.update(words(term))
    # ts_stat takes the text of a query: the published articles' ids are written into it.
    ids = ", ".join(str(int(pk)) for pk in Article.objects.published().values_list("pk", flat=True))
    table = "education_article"
    documents = f"SELECT to_tsvector('simple', title || ' ' || summary || ' ' || search_text) FROM {table}"  # noqa: S608 - integers only
    documents += f" WHERE id IN ({ids or 'NULL'})"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH vocabulary AS (
                SELECT word, nentry FROM ts_stat(%s)
                UNION ALL SELECT unnest(%s::text[]), 1
            )
            SELECT typed.word,
                   EXISTS (SELECT 1 FROM vocabulary WHERE vocabulary.word = typed.word),
                   (SELECT word FROM vocabulary
                     WHERE similarity(vocabulary.word, typed.word) >= %s
                     ORDER BY similarity(vocabulary.word, typed.word) DESC, nentry DESC, word
                     LIMIT 1)
            FROM unnest(%s::text[]) AS typed(word)
            """,
            [documents, sorted(extra), SUGGEST_SIMILARITY, candidates],
        )
        replacements = {word: close for word, known, close in cursor.fetchall() if not known and close}
    if not replacements:
        return ""
    return " ".join(replacements.get(word, word) for word in typed)


def library_search(terms):
    """Search the library and the clinic's facts pages for what a patient typed."""
    terms = clean_search_terms(terms)
    outcome = Outcome(terms=terms)
    groups = _synonym_groups()
    concept_list = concepts(terms, groups)
    if not concept_list:
        return outcome
    outcome.results, outcome.pages = _run(concept_list)
    if not outcome.found and len(concept_list) > 1:
        outcome.results, outcome.pages = _run(concept_list, any_concept=True)
    if not outcome.found:
        outcome.suggestion = _suggest(concept_list)
        if outcome.suggestion:
            suggested = concepts(outcome.suggestion, groups)
            outcome.results, outcome.pages = _run(suggested)
            outcome.corrected = outcome.found
    return outcome

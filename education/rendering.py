"""Markdown to safe HTML, with heading anchors and a table of contents.

Articles are written in Markdown by staff. Whatever they type, the HTML that reaches a
patient's browser passes an allow-list: no script, no event handler, no ``javascript:`` URL.
"""

import html
from dataclasses import dataclass, field

import markdown
import nh3
from django.utils.html import strip_tags
from markdown.extensions.toc import render_inner_html, slugify, unique
from markdown.treeprocessors import Treeprocessor

# Ids the article page itself uses: a heading in the body never takes one of them.
PAGE_IDS = frozenset(
    {
        "main", "footer-crisis", "article-title", "toc", "toc-title", "faq", "faq-title",
        "cta-title", "review", "disclaimer-title", "credits-title", "related-title", "safety",
        "safety-title",
    }
)  # fmt: skip

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align", "scope"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
HEADINGS = ("h2", "h3", "h4", "h5", "h6")
TOC_LEVELS = (2, 3)


@dataclass(frozen=True)
class Rendered:
    html: str
    toc: list = field(default_factory=list)
    text: str = ""


class _HeadingAnchors(Treeprocessor):
    """Give every heading a readable, unique id and collect the table of contents.

    An ``h1`` in the body becomes an ``h2``: the page's only ``h1`` is the article's title.
    """

    def __init__(self, md, used_ids, give_ids):
        super().__init__(md)
        self.used_ids = used_ids
        self.give_ids = give_ids
        self.anchors = []

    def run(self, root):
        for element in root.iter():
            if element.tag == "h1":
                element.tag = "h2"
            if element.tag not in HEADINGS or not self.give_ids:
                continue
            name = " ".join(html.unescape(strip_tags(render_inner_html(element, self.md))).split())
            anchor = unique(slugify(name, "-") or "section", self.used_ids)
            element.set("id", anchor)
            self.anchors.append({"level": int(element.tag[1]), "id": anchor, "name": name})


def _nest(anchors):
    """Nest ``h3`` entries under the ``h2`` before them; deeper levels stay out of the contents."""
    toc = []
    for anchor in anchors:
        if anchor["level"] not in TOC_LEVELS:
            continue
        entry = {"id": anchor["id"], "name": anchor["name"], "children": []}
        if anchor["level"] == TOC_LEVELS[0] or not toc:
            toc.append(entry)
        else:
            toc[-1]["children"].append(entry)
    return toc


def render_markdown(source, *, used_ids=None, anchors=True):
    """Render Markdown to sanitized HTML; return it with its table of contents and plain text.

    ``used_ids`` is a set of element ids already taken on the page; the headings' ids are added
    to it, so several fields rendered onto one page never share an id. With ``anchors=False``
    headings get no id at all.
    """
    used_ids = set(PAGE_IDS) if used_ids is None else used_ids
    md = markdown.Markdown(extensions=["sane_lists", "tables"], output_format="html")
    headings = _HeadingAnchors(md, used_ids, give_ids=anchors)
    md.treeprocessors.register(headings, "clinic_heading_anchors", 5)
    raw_html = md.convert(source or "")
    heading_ids = {heading["id"] for heading in headings.anchors}
    clean_html = nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        # Only the ids given above survive: a raw-HTML id could clash with the page's own.
        tag_attribute_values={tag: {"id": heading_ids} for tag in HEADINGS},
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    text = " ".join(html.unescape(strip_tags(clean_html)).split())
    return Rendered(html=clean_html, toc=_nest(headings.anchors), text=text)

"""Fixtures for the education library's tests."""

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from education.services import SAFETY_FILES, clinic_content_load, read_content_file, safety_notice_load

# The clinic's article exactly as the clinic supplied it: the page must carry every sentence.
SEED_TEXT = Path(__file__).resolve().parent / "data" / "clinic-article-ketamine-for-bipolar-disorder.txt"


@pytest.fixture
def seed_article(db):
    """The clinic's own article with its safety information, loaded as `make run` loads them."""
    (result,) = clinic_content_load()
    for path in SAFETY_FILES:
        safety_notice_load(content=read_content_file(path))
    result.article.refresh_from_db()
    return result.article


class _TextExtractor(HTMLParser):
    """The text a reader sees inside one element (by id or tag), without scripts and styles."""

    def __init__(self, *, root_tag, root_id=None, skip_ids=()):
        super().__init__(convert_charrefs=True)
        self.root_tag, self.root_id, self.skip_ids = root_tag, root_id, set(skip_ids)
        self.depth = 0
        self.skip_depth = 0
        self.parts = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth == 0:
            if tag == self.root_tag and (self.root_id is None or attrs.get("id") == self.root_id):
                self.depth = 1
            return
        if tag in {"br", "img", "hr", "meta", "link", "input"}:
            return
        self.depth += 1
        if self.skip_depth or tag in {"script", "style"} or attrs.get("id") in self.skip_ids:
            self.skip_depth += 1
        # Block boundaries separate words, as the browser shows them.
        self.parts.append(" ")

    def handle_endtag(self, tag):
        if self.depth == 0 or tag in {"br", "img", "hr", "meta", "link", "input"}:
            return
        self.depth -= 1
        if self.skip_depth:
            self.skip_depth -= 1
        self.parts.append(" ")

    def handle_data(self, data):
        if self.depth and not self.skip_depth:
            self.parts.append(data)


def visible_text(page_html, *, root_tag="main", root_id=None, skip_ids=()):
    """The whitespace-normalised text of one element of a page."""
    parser = _TextExtractor(root_tag=root_tag, root_id=root_id, skip_ids=skip_ids)
    parser.feed(page_html)
    return normalise(html.unescape("".join(parser.parts)))


def normalise(text):
    return " ".join(text.split())


def split_sentences(text):
    """Split prose into sentences: after . ! ? followed by whitespace."""
    return [s for s in re.split(r"(?<=[.!?])\s+", normalise(text)) if s]

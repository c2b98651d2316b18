"""The Spanish catalogue is complete: every message patients read has a checked Spanish translation.

A fresh extraction (``clinic.messages``, what ``make messages`` runs) into a scratch folder lists
every patient-facing message in today's code; the committed ``locale/es`` catalogue must translate
each one, without a fuzzy mark (``compilemessages`` drops fuzzy entries silently), with the same
placeholders as the English.
"""

import re
import shutil

import pytest
from django.conf import settings

from clinic import messages

CATALOGUE = settings.BASE_DIR / "locale" / "es" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]|\{\w*\}")
ENTRY_LINE = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$')

pytestmark = pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (make gettext)")


def _unquote(text):
    return re.sub(r"\\(.)", lambda match: {"n": "\n", "t": "\t"}.get(match.group(1), match.group(1)), text)


def read_catalogue(path):
    """{(context, msgid): {"fuzzy": bool, "plural": str|None, "translations": [str, ...]}}, header left out."""
    entries = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields, flags, current = {}, set(), None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif match := ENTRY_LINE.match(line):
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if not fields.get("msgid"):
            continue
        key = (_unquote(fields["msgctxt"]) if "msgctxt" in fields else None, _unquote(fields["msgid"]))
        entries[key] = {
            "fuzzy": "fuzzy" in flags,
            "plural": _unquote(fields["msgid_plural"]) if "msgid_plural" in fields else None,
            "translations": [_unquote(value) for name, value in fields.items() if name.startswith("msgstr")],
        }
    return entries


def placeholders(text):
    return sorted(match.group(0) for match in PLACEHOLDER.finditer(text))


def problems(fresh, committed):
    found = []
    for key, entry in fresh.items():
        label = f"{key[1]!r}" + (f" (context {key[0]!r})" if key[0] else "")
        translated = committed.get(key)
        if translated is None:
            found.append(f"missing: {label}")
            continue
        if translated["fuzzy"]:
            found.append(f"fuzzy: {label}")
        if not translated["translations"] or not all(text.strip() for text in translated["translations"]):
            found.append(f"empty: {label}")
            continue
        expected = placeholders(key[1])
        plural_expected = placeholders(entry["plural"]) if entry["plural"] else expected
        for number, text in enumerate(translated["translations"]):
            wanted = expected if number == 0 and entry["plural"] is None else plural_expected
            # A singular may leave out the count ("una respuesta"), never add or rename one.
            if entry["plural"] is not None and number == 0:
                if not set(placeholders(text)) <= set(plural_expected):
                    found.append(f"placeholders differ: {label}: {text!r}")
            elif placeholders(text) != wanted:
                found.append(f"placeholders differ: {label}: {text!r}")
    return found


@pytest.fixture(scope="module")
def fresh_extraction(tmp_path_factory):
    folder = tmp_path_factory.mktemp("messages")
    messages.extract(into=folder, verbosity=0)
    return read_catalogue(folder / "locale" / "es" / "LC_MESSAGES" / "django.po")


def test_every_patient_facing_message_has_a_checked_spanish_translation(fresh_extraction):
    assert len(fresh_extraction) > 200  # The extraction found the site's strings at all.
    assert problems(fresh_extraction, read_catalogue(CATALOGUE)) == []


def test_the_staff_workspace_is_not_extracted_and_the_questionnaire_and_intake_are(fresh_extraction):
    msgids = {msgid for _context, msgid in fresh_extraction}
    assert "Mark as contacted" not in msgids  # The staff workspace's action.
    assert "Request a consultation" in msgids
    assert "Little interest or pleasure in doing things" in msgids  # PHQ-9 item 1.
    assert "Questions before your consultation" in msgids  # The intake's first page.
    assert 'In crisis? Call or text <a href="tel:988">988</a> any time.' in msgids


def test_the_check_finds_a_missing_an_empty_a_fuzzy_and_a_wrong_placeholder(tmp_path):
    fresh = {
        (None, "Hello"): {"fuzzy": False, "plural": None, "translations": [""]},
        (None, "Empty"): {"fuzzy": False, "plural": None, "translations": [""]},
        (None, "Call %(phone)s"): {"fuzzy": False, "plural": None, "translations": [""]},
        (None, "Maybe"): {"fuzzy": False, "plural": None, "translations": [""]},
        (None, "Fine %(name)s"): {"fuzzy": False, "plural": None, "translations": [""]},
    }
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        'msgid "Empty"\nmsgstr ""\n\n'
        'msgid "Call %(phone)s"\nmsgstr "Llame al %(telefono)s"\n\n'
        '#, fuzzy\nmsgid "Maybe"\nmsgstr "Quizás"\n\n'
        'msgid "Fine %(name)s"\nmsgstr "Bien %(name)s"\n',
        encoding="utf-8",
    )
    assert problems(fresh, read_catalogue(po)) == [
        "missing: 'Hello'",
        "empty: 'Empty'",
        "placeholders differ: 'Call %(phone)s': 'Llame al %(telefono)s'",
        "fuzzy: 'Maybe'",
    ]

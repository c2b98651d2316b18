"""Template filters for the education pages."""

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from education.models import HIGHLIGHT_START, HIGHLIGHT_STOP

register = template.Library()

# As Django's json_script: characters that could end the script element or open a comment.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.filter
def json_ld(data):
    """Render ``data`` as a JSON-LD script element that no string inside it can break out of."""
    encoded = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(encoded))  # noqa: S308


@register.filter
def highlight(text):
    """Escape a search snippet, then turn PostgreSQL's match markers into ``<mark>`` elements."""
    escaped = str(conditional_escape(text or ""))
    return mark_safe(  # noqa: S308 - the text was escaped above; only our own tags are added.
        escaped.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_STOP, "</mark>")
    )

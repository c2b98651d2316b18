"""The site's own settings plus a baseline page, so every load figure comes from one server."""

from clinic.settings import *  # noqa: F403
from clinic.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"
TEMPLATES = [{**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]}]

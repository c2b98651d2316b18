"""The patient's forms, built from the questionnaire's one definition."""

from .booking import STEP_FORMS, SendForm
from .fields import SLUG_RE, TOKEN_RE

__all__ = ["SLUG_RE", "STEP_FORMS", "TOKEN_RE", "SendForm"]

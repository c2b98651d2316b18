"""The patient's forms, built from the questionnaire's one definition."""

from .fields import SLUG_RE, TOKEN_RE
from .request import ConsultationRequestForm

__all__ = ["SLUG_RE", "TOKEN_RE", "ConsultationRequestForm"]

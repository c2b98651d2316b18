"""Sessions in PostgreSQL, as Django keeps them, with one query less for each new session."""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, without asking the database whether a new key is taken.

    A key is 32 characters drawn from 36, so a clash is as good as impossible, and the INSERT of a
    new session refuses one anyway: ``create()`` then draws another key. The question cost every
    patient's first saved session a query (a sent booking's, for its confirmation page).
    """

    def _get_new_session_key(self):
        return get_random_string(32, VALID_KEY_CHARS)

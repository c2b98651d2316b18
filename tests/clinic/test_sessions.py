"""Sessions live in PostgreSQL; a new one costs its INSERT alone."""

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic import sessions
from clinic.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_is_saved_without_asking_whether_its_key_is_taken():
    store = SessionStore()
    store["seen"] = True
    with CaptureQueriesContext(connection) as queries:
        store.save()
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert "SELECT" not in statements
    assert statements.count("INSERT") == 1
    assert SessionStore(store.session_key)["seen"] is True


def test_a_new_key_that_is_taken_is_drawn_again(monkeypatch):
    first = SessionStore()
    first["who"] = "first"
    first.save()
    keys = iter([first.session_key, "a" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda length, chars: next(keys))
    second = SessionStore()
    second["who"] = "second"
    second.save()
    assert second.session_key == "a" * 32
    assert SessionStore(first.session_key)["who"] == "first"
    assert SessionStore(second.session_key)["who"] == "second"
    assert Session.objects.count() == 2

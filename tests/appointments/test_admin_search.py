"""The staff search over many requests: a term that few requests match is looked for once, and the
page (its count, its rows, its date drill-down) reads those requests by key; a term that many
match stays a filter. Both show the same requests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments.admin.requests import ConsultationRequestAdmin
from tests.factories import make_request

from .conftest import LIST_URL

pytestmark = pytest.mark.django_db


def searched_statements(client, term):
    """The page for ``term`` and the statements of it that test the searched columns."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL, {"q": term, "status": "all"})
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in queries if " LIKE " in query["sql"]]


def test_a_term_few_requests_match_is_looked_for_in_one_statement(client, login_as):
    login_as("front_desk")
    wanted = make_request(last_name="Vantrobe")
    others = [make_request(last_name="Haddad") for _ in range(3)]
    page, statements = searched_statements(client, "vantrobe")
    assert wanted.reference in page
    assert not [other.reference for other in others if other.reference in page]
    # Not four times (the count, the rows, the drill-down's first and last date, its days).
    assert len(statements) == 1


def test_a_term_many_requests_match_stays_a_filter_and_finds_them_all(client, login_as, monkeypatch):
    monkeypatch.setattr(ConsultationRequestAdmin, "SEARCH_KEYS_KEPT", 2)
    login_as("front_desk")
    wanted = [make_request(last_name="Vantrobe") for _ in range(3)]
    other = make_request(last_name="Haddad")
    page, statements = searched_statements(client, "vantrobe")
    assert [request.reference for request in wanted if request.reference not in page] == []
    assert other.reference not in page
    assert "3 results" in page
    assert len(statements) > 1

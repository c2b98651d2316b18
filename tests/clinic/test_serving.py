"""The production server survives dropped database connections and reports the database's health."""

import time

import pytest
from django.db import connection

from tests.servers import SECRET_KEY, get, gunicorn, production_env

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def database_url():
    settings = connection.settings_dict
    return f"postgres://{settings['USER'] or ''}@{settings['HOST'] or ''}/{settings['NAME']}"


def other_backends():
    with connection.cursor() as cursor:
        # The test runs in a transaction, which would otherwise see one frozen snapshot.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )
        return [row[0] for row in cursor.fetchall()]


def test_site_keeps_working_after_its_database_connections_are_cut():
    env = production_env(SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1", DATABASE_URL=database_url())
    with gunicorn(env) as base:
        assert get(f"{base}/healthz")[0] == 200
        backends = other_backends()
        assert backends, "the server should hold a persistent connection"
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [backends])
        for _ in range(100):
            if set(other_backends()).isdisjoint(backends):
                break
            time.sleep(0.05)
        assert set(other_backends()).isdisjoint(backends), "the connections were not cut"
        status, _, body = get(f"{base}/healthz")
        assert (status, body) == (200, b"ok\n")
        assert other_backends(), "the server should have reconnected"


def test_healthz_answers_503_when_the_database_does_not_answer():
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/clinic",
    )
    with gunicorn(env) as base:
        status, headers, body = get(f"{base}/healthz")
    assert status == 503
    assert body == b"database unavailable\n"
    assert "no-cache" in headers["Cache-Control"]

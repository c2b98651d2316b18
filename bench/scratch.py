"""A scratch PostgreSQL database with the site's schema and content, for benchmarks."""

import contextlib
import os
import subprocess

import psycopg2
from psycopg2 import sql

from tests.servers import PYTHON, ROOT, SECRET_KEY, collectstatic, production_env


def _admin(statement):
    conn = psycopg2.connect(dbname="postgres", host=os.environ.get("PGHOST", "127.0.0.1"))
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(statement)
    conn.close()


@contextlib.contextmanager
def scratch_database(name="clinic_bench"):
    """Create a fresh database, migrate it and load the clinic's content; drop it afterwards."""
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgres://{os.environ.get('PGHOST', '127.0.0.1')}/{name}"
    env = production_env(SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1", DATABASE_URL=url)
    try:
        for command in (["migrate", "--no-input", "-v0"], ["load_clinic_content"]):
            subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)
        yield url
    finally:
        _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# Rate limits a benchmark's clients never reach: wrk sends everything from one address.
NO_RATE_LIMITS = {
    "CONSULTATION_RATE_LIMIT": "100000000/m",
    "CONSULTATION_ATTEMPT_RATE_LIMIT": "100000000/m",
    # Its patients share an e-mail address and a phone number, and book more than a clinic's day.
    "CONSULTATION_EMAIL_RATE_LIMIT": "100000000/m",
    "CONSULTATION_PHONE_RATE_LIMIT": "100000000/m",
    "BOOKING_CEILING_PER_HOUR": "100000000",
    "BOOKING_CEILING_PER_DAY": "100000000",
}


def server_env(folder, database_url, *, cache_prefix, **overrides):
    """Production's environment for a benchmark's server on loopback, its static files collected
    into ``folder``; ``cache_prefix`` a fresh key space (nothing cached or counted by an earlier run)."""
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        STATIC_ROOT=str(folder / "static"),
        # Plain HTTP on loopback: TLS belongs to the load balancer in front of production.
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        CACHE_KEY_PREFIX=cache_prefix,
        LOG_LEVEL="WARNING",
        **overrides,
    )
    collectstatic(env, folder / "static")
    return env

"""A scratch PostgreSQL database with the site's schema and content, for benchmarks."""

import contextlib
import os
import subprocess

import psycopg2
from psycopg2 import sql

from tests.servers import PYTHON, ROOT, SECRET_KEY, production_env


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

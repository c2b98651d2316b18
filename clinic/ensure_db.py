"""Check that PostgreSQL answers and create the site's database if it is missing.

Run by ``make run`` before ``migrate``: ``python -m clinic.ensure_db``. It prints one
clear sentence instead of a traceback when the server does not answer.
"""

import os
import sys

import environ
import psycopg2
from psycopg2 import sql

DEFAULT_URL = "postgres:///clinic"


def main():
    environ.Env.read_env(os.path.join(os.path.dirname(__file__), "..", ".env"), overwrite=False)
    config = environ.Env.db_url_config(os.environ.get("DATABASE_URL", DEFAULT_URL))
    name = config["NAME"]
    params = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    try:
        conn = psycopg2.connect(dbname="postgres", connect_timeout=5, **params)
    except psycopg2.OperationalError as error:
        where = params["host"] or "the local socket"
        print(
            f"PostgreSQL does not answer at {where} ({str(error).strip().splitlines()[0]}). "
            "Start it (on Debian: sudo pg_ctlcluster 15 main start) or set DATABASE_URL, then run again.",
            file=sys.stderr,
        )
        return 1
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created the database {name}.")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

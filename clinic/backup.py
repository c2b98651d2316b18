"""Back up the site's database, and prove that a backup restores.

    python -m clinic.backup dump FILE      # pg_dump's custom format, compressed
    python -m clinic.backup restore FILE   # into the configured database, which must be empty
    python -m clinic.backup drill          # dump, restore into a scratch database, compare, drop

The drill is what an operator runs on a schedule: it fails loudly when a table's row count in the
restored copy differs from the live database's.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import environ
import psycopg2
from psycopg2 import sql

DEFAULT_URL = "postgres:///clinic"


def database_config():
    environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)
    return environ.Env.db_url_config(os.environ.get("DATABASE_URL", DEFAULT_URL))


def _client_env(config):
    env = dict(os.environ)
    for key, variable in [
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ]:
        if config.get(key):
            env[variable] = str(config[key])
    return env


def _connect(config, name):
    return psycopg2.connect(
        dbname=name,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
    )


def dump(config, path):
    # A backup holds health data: readable by its owner only, whatever the umask (and a file
    # that was already there loses its wider mode before anything is written to it).
    if os.path.exists(path):
        os.chmod(path, 0o600)
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(path), config["NAME"]],
        env=_client_env(config),
        check=True,
        umask=0o077,
    )
    os.chmod(path, 0o600)


def restore(config, path, name=None):
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", name or config["NAME"], str(path)],
        env=_client_env(config),
        check=True,
    )


def table_counts(config, name):
    """Row counts of every table in the public schema, by table name."""
    conn = _connect(config, name)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            tables = [row[0] for row in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
                counts[table] = cursor.fetchone()[0]
            return counts
    finally:
        conn.close()


def _admin(config, statement):
    conn = _connect(config, "postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


def drill(config):
    """Dump the live database, restore it into a scratch database, and compare every table."""
    scratch = f"{config['NAME']}_restore_drill"
    _admin(config, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
    _admin(config, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "drill.dump"
            dump(config, path)
            restore(config, path, name=scratch)
            size = path.stat().st_size
        live, restored = table_counts(config, config["NAME"]), table_counts(config, scratch)
    finally:
        _admin(config, sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
    differences = {table: (live.get(table), restored.get(table)) for table in live.keys() | restored.keys()}
    differences = {table: pair for table, pair in differences.items() if pair[0] != pair[1]}
    if differences:
        for table, (expected, found) in sorted(differences.items()):
            print(f"MISMATCH {table}: live {expected}, restored {found}", file=sys.stderr)
        return 1
    print(f"Restore drill passed: {len(live)} tables, {sum(live.values())} rows, backup of {size} bytes.")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m clinic.backup", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dump").add_argument("file")
    commands.add_parser("restore").add_argument("file")
    commands.add_parser("drill")
    args = parser.parse_args(argv)
    config = database_config()
    if args.command == "dump":
        dump(config, args.file)
        print(f"Backed up {config['NAME']} to {args.file}.")
        return 0
    if args.command == "restore":
        restore(config, args.file)
        print(f"Restored {args.file} into {config['NAME']}.")
        return 0
    return drill(config)


if __name__ == "__main__":
    sys.exit(main())

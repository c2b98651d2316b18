"""The restore drill: a backup of the live database restores with every row in place."""

import subprocess

import pytest
from django.db import connection

from clinic import backup
from tests.servers import PYTHON, ROOT, production_env


@pytest.fixture
def database_url():
    settings = connection.settings_dict
    return f"postgres://{settings['USER'] or ''}@{settings['HOST'] or ''}/{settings['NAME']}"


@pytest.fixture
def staff_rows(transactional_db, django_user_model):
    for n in range(3):
        django_user_model.objects.create_user(f"staff{n}", password="x" * 20)


def test_restore_drill_restores_every_row(staff_rows, database_url):
    result = subprocess.run(
        [PYTHON, "-m", "clinic.backup", "drill"],
        cwd=ROOT,
        env=production_env(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Restore drill passed:")
    config = backup.database_config() | {"NAME": connection.settings_dict["NAME"]}
    assert backup.table_counts(config, config["NAME"])["auth_user"] == 3


def test_restore_drill_fails_when_the_restore_loses_rows(staff_rows, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(backup, "restore", lambda config, path, name=None: None)
    assert backup.main(["drill"]) == 1
    assert "MISMATCH auth_user: live 3, restored None" in capsys.readouterr().err

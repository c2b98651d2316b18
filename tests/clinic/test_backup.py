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


def test_a_backup_is_readable_by_its_owner_only(transactional_db, tmp_path):
    import os
    import stat

    config = backup.database_config() | {"NAME": connection.settings_dict["NAME"]}
    path = tmp_path / "clinic.dump"
    path.write_bytes(b"")
    path.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        backup.dump(config, path)
    finally:
        os.umask(old_umask)
    assert path.stat().st_size > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

"""Production settings refuse to start without secrets; static files are cached for a year."""

import subprocess

import pytest

from tests.servers import PYTHON, ROOT, collectstatic, get, gunicorn, production_env
from tests.servers import SECRET_KEY as GOOD_KEY


def run_check(env):
    return subprocess.run(
        [PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_check(production_env(ALLOWED_HOSTS="clinic.example"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_development_key():
    key = "development-only-secret-key-not-for-production" + "x" * 10
    result = run_check(production_env(SECRET_KEY=key, ALLOWED_HOSTS="clinic.example"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_check(production_env(SECRET_KEY=GOOD_KEY))
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must name" in result.stderr


def test_production_starts_with_its_secrets():
    result = run_check(production_env(SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="clinic.example"))
    assert result.returncode == 0, result.stderr


@pytest.fixture
def collected_static(tmp_path):
    # As behind the clinic's load balancer, which terminates TLS and says so in a header.
    env = production_env(
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path),
        TRUST_X_FORWARDED_PROTO="true",
    )
    collectstatic(env, tmp_path)
    return env, tmp_path


@pytest.mark.slow
def test_collected_static_files_are_served_with_far_future_cache_headers(collected_static):
    env, static_root = collected_static
    hashed = next(static_root.glob("clinic/css/clinic.*.css"))
    with gunicorn(env) as base:
        status, headers, _ = get(
            f"{base}/static/clinic/css/{hashed.name}",
            headers={"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"},
        )
    assert status == 200
    assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
    assert headers["Content-Encoding"] == "gzip"


def test_deploy_check_is_clean_with_production_variables():
    env = production_env(SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="clinic.example")
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_rate_limit_that_is_not_a_rate_refuses_to_start():
    env = production_env(
        SECRET_KEY=GOOD_KEY, ALLOWED_HOSTS="clinic.example", CONSULTATION_RATE_LIMIT="5 per hour"
    )
    result = run_check(env)
    assert result.returncode != 0
    assert "CONSULTATION_RATE_LIMIT: “5 per hour” is not a rate such as 5/10m." in result.stderr

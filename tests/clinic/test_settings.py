"""Production settings refuse to start without secrets; static files are cached for a year."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GOOD_KEY = "pK7vQ2mX9zR4tW8yB3nF6hJ1cL5sD0gA-eU_iO2pK7vQ2mX9zR4tW8yB3nF6hJ1c"
# Variables the test run sets for itself that a production server would not have.
TEST_ONLY = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def production_env(**overrides):
    env = {key: value for key, value in os.environ.items() if key not in TEST_ONLY}
    env.update(DJANGO_SETTINGS_MODULE="clinic.settings", DEBUG="false")
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def collected_static(tmp_path):
    # As behind the clinic's load balancer, which terminates TLS and says so in a header.
    env = production_env(
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path),
        TRUST_X_FORWARDED_PROTO="true",
    )
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return env, tmp_path


def test_collected_static_files_are_served_with_far_future_cache_headers(collected_static):
    env, static_root = collected_static
    hashed = next(static_root.glob("clinic/css/clinic.*.css"))
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "clinic.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/static/clinic/css/{hashed.name}"
        response = None
        for _ in range(100):
            try:
                request = urllib.request.Request(
                    url, headers={"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"}
                )
                response = urllib.request.urlopen(request, timeout=5)
                break
            except OSError:
                time.sleep(0.1)
        assert response is not None, "gunicorn did not answer"
        assert response.status == 200
        assert response.headers["Cache-Control"] == "max-age=315360000, public, immutable"
        assert response.headers["Content-Encoding"] == "gzip"
    finally:
        server.terminate()
        server.wait(timeout=10)


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

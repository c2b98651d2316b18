"""The production gunicorn settings keep search terms and patients' links out of the access log."""

import subprocess
import time
from pathlib import Path

from tests.servers import PYTHON, ROOT, SECRET_KEY, free_port, get, production_env


def test_access_log_leaves_out_query_strings_and_referrers(tmp_path):
    port = free_port()
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
    )
    log = tmp_path / "access.log"
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "-c",
            "python:clinic.gunicorn",
            "--access-logfile",
            str(log),
            "clinic.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status = None
        for _ in range(100):
            try:
                status = get(
                    f"http://127.0.0.1:{port}/healthz?q=lithium+overdose",
                    headers={"Referer": "http://127.0.0.1/consultation/status/SECRETLINK/"},
                )[0]
                break
            except OSError:
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert status == 200
    text = log.read_text()
    assert '"GET /healthz HTTP/1.1" 200' in text
    assert "lithium" not in text
    assert "SECRETLINK" not in text


def _serve_briefly(tmp_path, **env_overrides):
    port = free_port()
    env = production_env(
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        HOME=str(tmp_path),
        XDG_RUNTIME_DIR=None,
        **env_overrides,
    )
    server = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "-c", "python:clinic.gunicorn", "clinic.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        return sorted(path.name for path in tmp_path.rglob("*.ctl")) + sorted(
            path.name for path in tmp_path.rglob("*") if path.is_socket()
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_no_shared_control_socket_for_a_second_server_to_take(tmp_path):
    # gunicorn's default is one path per user ($HOME/.gunicorn/gunicorn.ctl).
    assert _serve_briefly(tmp_path) == []


def test_a_server_can_be_given_a_control_socket_of_its_own(tmp_path):
    sockets = _serve_briefly(tmp_path, GUNICORN_CONTROL_SOCKET=str(tmp_path / "first.sock"))
    assert "first.sock" in sockets


def test_the_master_compiles_every_template_before_the_workers_fork():
    from django.template import engines

    from clinic.gunicorn import warm_app

    loader = engines["django"].engine.template_loaders[0]
    loader.reset()
    warm_app()
    assert {
        "base.html",
        "home.html",
        "education/article_detail.html",
        "appointments/booking_step.html",
    } <= set(loader.get_template_cache)

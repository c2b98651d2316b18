"""Run the site as production runs it (gunicorn, production settings) for tests that need it."""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET_KEY = "pK7vQ2mX9zR4tW8yB3nF6hJ1cL5sD0gA-eU_iO2pK7vQ2mX9zR4tW8yB3nF6hJ1c"
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
    """The environment a production server gets: this one minus test-only variables, plus overrides."""
    env = {key: value for key, value in os.environ.items() if key not in TEST_ONLY}
    env.update(DJANGO_SETTINGS_MODULE="clinic.settings", DEBUG="false")
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


# Ports for the servers tests start: below the kernel's range for outgoing connections (32768 and up
# by default), so that no connection's own port takes one between choosing it and the server binding
# it, and a block of its own for each pytest-xdist worker, so that two workers never choose the same.
PORT_BLOCK = 1000
FIRST_PORT = 10000
_ports_given = set()


def free_port():
    """A loopback port nothing listens on, not given before in this process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    blocks = (_first_outgoing_port() - FIRST_PORT) // PORT_BLOCK
    start = FIRST_PORT + (int(worker or 0) % blocks) * PORT_BLOCK
    for port in random.sample(range(start, start + PORT_BLOCK), PORT_BLOCK):
        if port in _ports_given:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError(f"No free port left in {start}-{start + PORT_BLOCK - 1}")


def _first_outgoing_port():
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def get(url, headers=None, timeout=10):
    """GET a URL; return (status, headers, body) for every status, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_for_port(port, server, name):
    """Wait until ``server`` (a Popen with stderr piped) listens on the loopback ``port``."""
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"{name} exited: " + server.stderr.read().decode()[-2000:]) from None
            time.sleep(0.05)


def gunicorn_command(port, workers=1, extra_args=()):
    """The command line that serves the site with gunicorn on the loopback ``port``."""
    gunicorn_path = str(Path(PYTHON).parent / "gunicorn")
    return [
        gunicorn_path,
        "clinic.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *extra_args,
    ]


def database_url():
    """The test database, as a server's DATABASE_URL."""
    from django.db import connection

    db = connection.settings_dict
    host = db["HOST"] or ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{db['USER'] or ''}@{host}{port}/{db['NAME']}"


@contextlib.contextmanager
def gunicorn(env, workers=1, port=None, extra_args=()):
    """Serve the site with gunicorn on a loopback port (a free one by default); yield its base URL."""
    port = port or free_port()
    server = subprocess.Popen(
        gunicorn_command(port, workers, extra_args),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, server, "gunicorn")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def collectstatic(env, static_root):
    """Collect static files with hashed, compressed names, as a deploy does."""
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env={**env, "STATIC_ROOT": str(static_root)},
        check=True,
        timeout=300,
    )


class Machine:
    """A gunicorn server in a process group of its own, as if on a machine of its own."""

    def __init__(self, process, base):
        self.process = process
        self.base = base

    @property
    def address(self):
        """host:port, as an nginx upstream names it."""
        return self.base.removeprefix("http://")

    def kill(self):
        """End the master and every worker at once (SIGKILL), as a machine that loses power does:
        nothing is answered, nothing is closed cleanly."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextlib.contextmanager
def gunicorn_machine(env, *, log_path, workers=1, extra_args=()):
    """Serve the site with gunicorn on a free loopback port, its output written to ``log_path``;
    yield a ``Machine`` once it answers /healthz (the database reached)."""
    port = free_port()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            gunicorn_command(port, workers, extra_args),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    machine = Machine(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while not _healthy(machine.base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start: " + Path(log_path).read_text()[-2000:])
            time.sleep(0.1)
        yield machine
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                machine.kill()


def _healthy(base):
    try:
        return get(base + "/healthz", timeout=2)[0] == 200
    except OSError:
        return False

"""Fault tests: real services started by the test on ports of their own, on loopback, then broken.

Each one is bounded in time. They reuse the production-server helpers of ``tests/security``.
"""

import contextlib
import shutil
import subprocess
import time
import uuid

import redis

from tests.security.conftest import Browser, marked_answers, serve
from tests.servers import SECRET_KEY, database_url, free_port, production_env

__all__ = ["Browser", "marked_answers", "redis_server", "serve", "site_env", "wait_for"]


def site_env(**overrides):
    """A production server's environment, speaking plain HTTP to the test database."""
    return production_env(
        **{
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(),
            # Keys of the test's own on any shared Redis: another run's cached pages or facts never show.
            "CACHE_KEY_PREFIX": f"faults-{uuid.uuid4().hex}",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            **overrides,
        }
    )


class RedisServer:
    """A redis-server of the test's own on a free loopback port, nothing saved to disk."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "the fault tests need redis-server (Debian's redis-server package)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)


@contextlib.contextmanager
def redis_server():
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.kill()


def wait_for(condition, *, timeout, interval=0.1):
    """Poll ``condition`` until it returns something true; return it, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(interval)

"""Settings for the test suite: the real settings, with test-only secrets and faster hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-" + "x" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
# The test servers speak plain HTTP on loopback.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")

from clinic.settings import *  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The tests render templates without running collectstatic first.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# A key prefix of this run's own, so that runs sharing a Redis database never see each other's keys.
CACHES["default"]["KEY_PREFIX"] = f"clinic-test-{os.getpid()}"
# Several test runs can share one PostgreSQL server, each with a database of its own.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_clinic")}
# Serve static files from the finders, as in development, instead of a collected STATIC_ROOT.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

"""gunicorn's settings for production: ``gunicorn -c python:clinic.gunicorn clinic.wsgi``.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound, spread out so they
# never restart together; the app is loaded once, before forking, so a new worker starts fast.
# Every 10,000 to 20,000 requests: at 2,000 a busy worker (400 requests a second on the benchmark)
# restarted every few seconds, 183 starts in a 5-minute run against 21 at this value, each start
# a fork and two connections.
max_requests = 10000
max_requests_jitter = 10000
preload_app = True
accesslog = "-"
# The access log names the path without its query string and without the referrer: search
# terms and the links in patients' e-mails stay out of the logs. The logger class redacts the
# secret in a patient's link and escapes control characters (a forged line stays on its line).
logger_class = "clinic.access_log.AccessLogger"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# gunicorn's control socket defaults to one path per user, which a second server on the machine
# takes over: none, unless GUNICORN_CONTROL_SOCKET gives this server a path of its own.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True


def when_ready(server):
    """Before the first worker forks: load what every request needs, once.

    With the app preloaded, the URL map, every template and the translations are loaded here, in
    the master, so no worker (a first one or a recycled one) pays for them on its first requests.
    """
    if server.cfg.preload_app:
        warm_app()


def warm_app():
    from django.conf import settings
    from django.template.loader import get_template
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 (importing every URL module is the point)
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                get_template(str(path.relative_to(folder)))
    with translation.override(settings.LANGUAGE_CODE):
        translation.gettext("Home")


def post_worker_init(worker):
    """Open this worker's database and cache connections before its first request, not during it."""
    from django.core.cache import cache
    from django.db import connection

    try:
        connection.ensure_connection()
        cache.get("warm-up")
    except Exception:  # noqa: BLE001 (a database or cache outage must not stop the worker: requests degrade)
        worker.log.warning("A worker started without its database or cache connection.")

"""gunicorn's settings for production: ``gunicorn -c python:clinic.gunicorn clinic.wsgi``.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound, spread out so they
# never restart together; the app is loaded once, before forking, so a new worker starts fast.
max_requests = 2000
max_requests_jitter = 1000
preload_app = True
accesslog = "-"
# The access log names the path without its query string and without the referrer: search
# terms and the links in patients' e-mails stay out of the logs.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

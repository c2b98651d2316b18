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

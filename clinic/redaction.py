"""Log lines and error reports that never quote what a patient typed.

Django keeps POST data and a sensitive view's local variables out of error reports, but not
exception messages, and some quote data: PostgreSQL's ``DETAIL: Failing row contains (...)``
lists every column of a row it refused, names and answers included. Here an exception's message
is withheld when it is a database error, or when it was raised while handling a request to a
view marked ``sensitive_post_parameters``; its type and traceback stay, for the operator.
"""

import logging
import traceback

from django.db import Error as DatabaseError
from django.views import debug

WITHHELD = "(message withheld: it may quote personal data)"


def _is_database_error(exc):
    return isinstance(exc, DatabaseError) or type(exc).__module__.split(".")[0] in {"psycopg2", "psycopg"}


def _withholds(exc, request):
    return _is_database_error(exc) or bool(getattr(request, "sensitive_post_parameters", None))


def safe_message(exc, request=None):
    """The message of ``exc`` as logs and error reports may show it."""
    if not _withholds(exc, request):
        return str(exc)
    if _is_database_error(exc):
        # What PostgreSQL says about itself (never a value): the error code and the names involved.
        source = exc.__cause__ if getattr(exc.__cause__, "pgcode", None) else exc
        diag = getattr(source, "diag", None)
        parts = [f"SQLSTATE {source.pgcode}"] if getattr(source, "pgcode", None) else []
        for label, attribute in [("table", "table_name"), ("constraint", "constraint_name")]:
            if value := getattr(diag, attribute, None):
                parts.append(f"{label} {value}")
        if parts:
            return f"{', '.join(parts)} {WITHHELD}"
    return WITHHELD


def format_exception(exc_info, request=None):
    """A traceback, chained exceptions included, with the messages ``safe_message`` withholds."""
    summary = traceback.TracebackException(*exc_info)
    pending, seen = [(summary, exc_info[1])], set()
    while pending:
        summary_part, exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        if _withholds(exc, request):
            summary_part._str = safe_message(exc, request)
            summary_part.__notes__ = None
        if summary_part.__cause__ is not None:
            pending.append((summary_part.__cause__, exc.__cause__))
        if summary_part.__context__ is not None:
            pending.append((summary_part.__context__, exc.__context__))
    return "".join(summary.format()).rstrip("\n")


class Formatter(logging.Formatter):
    """The site's log format: tracebacks formatted by ``format_exception``, a request's secret path
    redacted (Django logs 404s, 410s and CSRF refusals with the path) and control characters escaped."""

    def formatMessage(self, record):
        message = record.message
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path_info") and hasattr(request, "META"):
            safe_path = request_log_path(request)
            for path in {request.path, request.path_info}:
                if path:
                    message = message.replace(path, safe_path)
        record.message = escape_controls(message)
        return super().formatMessage(record)

    def format(self, record):
        if record.exc_info:
            # Always replaced: another handler may have cached the unsafe text on the record.
            record.exc_text = format_exception(record.exc_info, getattr(record, "request", None))
        return super().format(record)


def _safe_value(value, request):
    if isinstance(value, BaseException) and _withholds(value, request):
        return f"{type(value).__name__}({safe_message(value, request)!r})"
    if isinstance(value, tuple | list) and any(isinstance(item, BaseException) for item in value):
        return type(value)(_safe_value(item, request) for item in value)
    return value


class ExceptionReporterFilter(debug.SafeExceptionReporterFilter):
    """Django's filter, and a frame's variables that hold a withheld exception show it withheld too."""

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, _safe_value(value, request)) for name, value in variables]

    def get_safe_cookies(self, request):
        # Every cookie of the site is a bearer secret: a session, a draft, the confirmation pages a
        # browser may open. Django hides only those whose names look secret (``csrftoken``).
        return dict.fromkeys(getattr(request, "COOKIES", {}), self.cleansed_substitute)


class ExceptionReporter(debug.ExceptionReporter):
    """Django's error report (mailed to ADMINS, or shown with DEBUG on) with messages withheld."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.exc_value is not None and _withholds(self.exc_value, self.request):
            data["exception_value"] = safe_message(self.exc_value, self.request)
            data.pop("unicode_hint", None)
        for frame in data.get("frames", []):
            # The chained exception, and the same object again standing for "it was explicit".
            for key in ["exc_cause", "exc_cause_explicit"]:
                if isinstance(frame.get(key), BaseException):
                    frame[key] = safe_message(frame[key], self.request)
        return data


# Secret links and forged lines: what a log line may say about a request's path.

# Every URL whose path carries a secret (a patient's link, a staff member's set-password link), by
# its name wherever it is mounted: the access log and Django's loggers show these paths with the
# secret parts replaced. A new secret-bearing URL is added here, and nowhere else.
SECRET_URL_NAMES = frozenset(
    {
        "appointments:request_received",
        "appointments:request_status",
        "staff_set_password",
    }
)
REDACTED = "[redacted]"
# Where the path as logs may show it waits in the WSGI environ, for gunicorn's access log.
LOG_PATH_KEY = "clinic.log_path"


def escape_controls(text):
    """``text`` with control and other unprintable characters escaped: one log line stays one line."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text
    )


def _redacted(path, match):
    for value in [*match.args, *match.kwargs.values()]:
        if value:
            path = path.replace(str(value), REDACTED)
    return path


def _secret_match(path):
    from django.urls import Resolver404, resolve

    for candidate in [path, path if path.endswith("/") else f"{path}/"]:
        try:
            match = resolve(candidate)
        except (Resolver404, ValueError):
            continue
        if match.view_name in SECRET_URL_NAMES:
            return match
    return None


def loggable_path(path, match=None):
    """``path`` as a log line may show it: secrets of the URLs in ``SECRET_URL_NAMES`` replaced,
    control characters escaped. ``match`` is the request's resolved URL, when there is one."""
    if match is None or match.view_name not in SECRET_URL_NAMES:
        match = _secret_match(path) if match is None else None
    if match is not None:
        path = _redacted(path, match)
    return escape_controls(path)


class LogPathMiddleware:
    """Note, once the URL is resolved, the path as logs may show it (for gunicorn's access log).

    Listed before CsrfViewMiddleware, whose refusals are logged with the path too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.META[LOG_PATH_KEY] = loggable_path(request.path_info, request.resolver_match)


def request_log_path(request):
    if LOG_PATH_KEY not in request.META:
        request.META[LOG_PATH_KEY] = loggable_path(
            request.path_info, getattr(request, "resolver_match", None)
        )
    return request.META[LOG_PATH_KEY]

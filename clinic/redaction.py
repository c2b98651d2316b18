"""Log lines and error reports that never quote what a patient typed, nor a secret link.

Django keeps POST data and a sensitive view's local variables out of error reports, but not
exception messages, and some quote data: PostgreSQL's ``DETAIL: Failing row contains (...)``
lists every column of a row it refused, names and answers included. Here an exception's message
is withheld when it is a database error, or when it was raised while handling a request to a
view marked ``sensitive_post_parameters``; its type and traceback stay, for the operator.

Secret links (a patient's status, intake and confirmation pages, a clinician's calendar feed, a
staff member's set-password link) are redacted by the shape of their path, worked out from the URL
patterns themselves. The rule: a route is secret-bearing when one of its parameters is named in
``SECRET_PARAMETERS`` (``signed``, ``token``, ``uidb64``, ``secret``) or ends with one of
``SECRET_PARAMETER_SUFFIXES`` (``_signed``, ``_token``, ``_secret``). A new secret-bearing route is
covered by naming its parameter so, with no list to keep. For each such route, at first use, the
URL map is walked and a regex built from the route's literal text before the secret parameter (in
every language's prefix, and none): it finds the secret segment on any path, resolving or not, and
replaces it up to the next ``/`` (in free text, also a space or a quote), whatever a mail client
added to it (``)``, ``”``, a space) or anything inserted in it (``é``, a NUL, Django's escaping
of them). The access log (``clinic/access_log.py``, which also drops the query string) and Django's
loggers (``Formatter``) apply it.
"""

import functools
import logging
import re
import traceback
from typing import NamedTuple

from django.conf import settings
from django.db import Error as DatabaseError
from django.urls.resolvers import LocalePrefixPattern, RoutePattern, URLResolver
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
    """The site's log format: tracebacks formatted by ``format_exception``, secret links redacted
    (Django logs 404s, 410s and CSRF refusals with the path) and control characters escaped."""

    def formatMessage(self, record):
        message = record.message
        request = getattr(record, "request", None)
        paths = {getattr(request, "path", None), getattr(request, "path_info", None)}
        # The request's own path first, however Django wrote it into the message: a space or a
        # quote inside the secret does not end it there.
        for path in sorted((path for path in paths if isinstance(path, str) and path), key=len, reverse=True):
            safe = redact_path(path)
            if safe != path:
                for written in sorted(
                    {path, _django_escaped(path), escape_controls(path)}, key=len, reverse=True
                ):
                    message = message.replace(written, safe)
        record.message = escape_controls(redact_text(message))
        return super().formatMessage(record)

    def format(self, record):
        if record.exc_info:
            # Always replaced: another handler may have cached the unsafe text on the record.
            record.exc_text = format_exception(record.exc_info, getattr(record, "request", None))
        # A traceback or stack may quote a secret path too.
        return redact_text(super().format(record))


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

REDACTED = "[redacted]"
# Where the path as logs may show it waits in the WSGI environ, for gunicorn's access log.
LOG_PATH_KEY = "clinic.log_path"
# The rule (see the module's docstring): a URL parameter carries a secret when it has one of these
# names or ends with one of these suffixes.
SECRET_PARAMETERS = frozenset({"signed", "token", "uidb64", "secret"})
SECRET_PARAMETER_SUFFIXES = ("_signed", "_token", "_secret")
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


def is_secret_parameter(name):
    """Whether a URL parameter named ``name`` carries a secret."""
    return name in SECRET_PARAMETERS or name.endswith(SECRET_PARAMETER_SUFFIXES)


def escape_controls(text):
    """``text`` with control and other unprintable characters escaped: one log line stays one line."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text
    )


# The pieces of a route the regexes are built from: literal text, one of several literal texts (a
# language prefix), a parameter (secret or not; within a segment, or across segments like
# ``<path:...>``), or a regex route's part that is not read further.
class _Literal(NamedTuple):
    text: str


class _Choice(NamedTuple):
    texts: tuple


class _Parameter(NamedTuple):
    name: str
    secret: bool
    spans_segments: bool


class _Opaque(NamedTuple):
    pass


def _route_pieces(pattern):
    """The pieces of one level of a URL pattern (a ``path()``, a ``re_path()``, ``i18n_patterns``)."""
    if isinstance(pattern, LocalePrefixPattern):
        # Every language's prefix, and none (the default language's, unless it is prefixed too).
        return [_Choice(("", *(f"{code}/" for code, _name in settings.LANGUAGES)))]
    if isinstance(pattern, RoutePattern):
        route, pieces, position = str(pattern), [], 0
        for match in _PARAMETER.finditer(route):
            name = match["parameter"]
            converter = pattern.converters.get(name)
            spans = converter is not None and re.fullmatch(converter.regex, "a/b") is not None
            pieces += [
                _Literal(route[position : match.start()]),
                _Parameter(name, is_secret_parameter(name), spans),
            ]
            position = match.end()
        return [*pieces, _Literal(route[position:])]
    names = getattr(getattr(pattern, "regex", None), "groupindex", {})
    secret = [name for name in names if is_secret_parameter(name)]
    if secret:
        # A regex is not parsed: from the literal text it starts with, the rest of the path is secret.
        return [_Literal(_regex_literal_start(str(pattern))), _Parameter(secret[0], True, True)]
    return [_Opaque()]


def _regex_literal_start(source):
    """The literal text a regex starts with: ``^status/(?P<signed>[^/]+)/$`` gives ``status/``."""
    source, literal, index = source.removeprefix("^"), [], 0
    while index < len(source):
        char, step = source[index], 1
        if char == "\\" and index + 1 < len(source) and not source[index + 1].isalnum():
            char, step = source[index + 1], 2
        elif char in ".^$*+?{}[]|()\\":
            break
        if source[index + step : index + step + 1] in {"*", "+", "?", "{"}:
            break
        literal.append(char)
        index += step
    return "".join(literal)


class _Chars(NamedTuple):
    """What a secret may span: in a bare path, everything up to the next ``/`` (or the end); in free
    text (a log message, after Django escaped the path), also up to a space or a quote."""

    segment: str
    anything: str
    boundary: str


_PATH_CHARS = _Chars(segment="[^/]", anything=".", boundary="(?=/|$)")
_TEXT_CHARS = _Chars(segment=r"""[^/\s'"]""", anything=r"""[^\s'"]""", boundary=r"""(?=[/\s'"]|$)""")


def _piece_regex(piece, chars):
    if isinstance(piece, _Literal):
        # Slashes doubled by a mail client lead nowhere, and would still log what comes after them.
        return "/+".join(re.escape(part) for part in piece.text.split("/"))
    if isinstance(piece, _Choice):
        return "(?:" + "|".join(_piece_regex(_Literal(text), chars) for text in piece.texts) + ")"
    if isinstance(piece, _Parameter) and not piece.spans_segments:
        # A segment before the secret (another secret, or not) up to its ``/``, spaces and all.
        return "[^/]*"
    return f"{chars.anything}*?"


def _secret_regex(pieces, index, chars):
    """The regex that finds the secret parameter ``pieces[index]`` of a route, on any path: what comes
    before it (``keep``), the secret (to the next ``/``; for a parameter that spans segments, to the
    end), and the route's literal text after it in the same segment, such as ``.ics`` (``after``)."""
    keep = "/+" + "".join(_piece_regex(piece, chars) for piece in pieces[:index])
    if pieces[index].spans_segments:
        return f"(?P<keep>{keep})(?P<secret>{chars.anything}+)"
    following = pieces[index + 1] if index + 1 < len(pieces) else None
    after = following.text.split("/")[0] if isinstance(following, _Literal) else ""
    if not after:
        return f"(?P<keep>{keep})(?P<secret>{chars.segment}+)"
    return f"(?P<keep>{keep})(?P<secret>{chars.segment}+?)(?P<after>{re.escape(after)})?{chars.boundary}"


def _walk(patterns, pieces=(), names=(), written=""):
    """Every route under ``patterns``: its full name (or None), its pieces (every level's), and the
    route as written (``consultation/intake/<str:signed>/``, with no language prefix)."""
    for entry in patterns:
        here = (*pieces, *_route_pieces(entry.pattern))
        text = written + ("" if isinstance(entry.pattern, LocalePrefixPattern) else str(entry.pattern))
        if isinstance(entry, URLResolver):
            namespace = (*names, entry.namespace) if entry.namespace else names
            yield from _walk(entry.url_patterns, here, namespace, text)
        else:
            yield (":".join((*names, entry.name)) if entry.name else None), here, text


class _Redaction(NamedTuple):
    screen: re.Pattern  # every regex in one, to pass over a line with no secret path in one search
    regexes: tuple

    @classmethod
    def of(cls, sources):
        unnamed = "|".join(re.sub(r"\(\?P<\w+>", "(?:", source) for source in sources)
        return cls(
            re.compile(unnamed, re.IGNORECASE), tuple(re.compile(source, re.IGNORECASE) for source in sources)
        )

    def sub(self, text):
        if not self.screen.search(text):
            return text
        for regex in self.regexes:
            text = regex.sub(_replace, text)
        return text


class _SecretRoutes(NamedTuple):
    routes: dict  # the route as written, by its name (an unnamed route by itself)
    path: _Redaction
    text: _Redaction


@functools.lru_cache(maxsize=8)
def _secret_routes_of(resolver):
    routes, path_sources, text_sources = {}, {}, {}
    for name, pieces, written in _walk(resolver.url_patterns):
        secret = [
            index for index, piece in enumerate(pieces) if isinstance(piece, _Parameter) and piece.secret
        ]
        if not secret:
            continue
        routes[name or written] = written
        for index in secret:
            path_sources.setdefault(_secret_regex(pieces, index, _PATH_CHARS))
            text_sources.setdefault(_secret_regex(pieces, index, _TEXT_CHARS))
    return _SecretRoutes(routes, _Redaction.of(list(path_sources)), _Redaction.of(list(text_sources)))


def _secret_routes():
    from django.urls import get_resolver

    # The site's URL map (ROOT_URLCONF): a log line may be written outside any request.
    return _secret_routes_of(get_resolver())


def secret_routes():
    """Every route whose path carries a secret, as ``{name: "consultation/status/<str:signed>/"}`` (an
    unnamed route by its route): what the logs redact, worked out from the URL patterns."""
    return dict(_secret_routes().routes)


def _replace(match):
    return match["keep"] + REDACTED + (match.groupdict().get("after") or "")


# Before the URL patterns are loaded, or should they fail to load, every path is redacted after its
# first segment.
_FALLBACK = _SecretRoutes(
    {},
    _Redaction.of([r"(?P<keep>/[^/]+/+)(?P<secret>.+)"]),
    _Redaction.of([r"""(?P<keep>/[^/\s'"]+/+)(?P<secret>[^\s'"]+)"""]),
)


def _redaction():
    from django.apps import apps

    if not apps.ready:
        # A line gunicorn logs before the site is loaded: importing the URL map now would fail.
        return _FALLBACK
    try:
        return _secret_routes()
    except Exception:  # noqa: BLE001 (a log line must still be written, and must still be safe)
        return _FALLBACK


def redact_path(path):
    """``path`` (a bare path, resolving or not) with the secret of every secret-bearing route replaced:
    each secret segment, whatever characters were added to it or inserted in it, up to its ``/``."""
    return _redaction().path.sub(path)


def redact_text(text):
    """``text`` (a log message, a request line) with the secret of every secret-bearing route's path
    in it replaced, up to the next ``/``, space, quote or the end. Django escapes a logged path's
    non-ASCII and control characters (``\\xe9``, ``\\x00``), which stay inside the secret replaced."""
    return _redaction().text.sub(text)


def loggable_path(path):
    """``path`` as a log line may show it: its secrets redacted, control characters escaped."""
    return escape_controls(redact_path(path))


def _django_escaped(text):
    # How ``django.utils.log.log_response`` writes a path into a message.
    return text.encode("unicode_escape").decode("ascii")


class LogPathMiddleware:
    """Note, once the URL is resolved, the path as logs may show it (for gunicorn's access log).

    Listed before CsrfViewMiddleware, whose refusals are logged with the path too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.META[LOG_PATH_KEY] = loggable_path(request.path_info)

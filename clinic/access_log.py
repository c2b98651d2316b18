"""gunicorn's logs, with secret links redacted and the access log's control characters escaped.

``clinic/gunicorn.py`` names this logger class. The access log's path comes from the note the site
leaves in the WSGI environ (``clinic.redaction.LogPathMiddleware``), or is worked out here for a
request that never reached a view; it never has the query string. Every other atom the format may
name (a header, the raw request line) is redacted as it is read, and so is every message of
gunicorn's error log (which names a request it failed to handle); its warning for a request it
refuses keeps the reason and withholds what the client sent, a request line split anywhere.
"""

import logging
import re

from gunicorn.glogging import Logger, SafeAtoms

from .redaction import LOG_PATH_KEY, escape_controls, loggable_path, redact_text


class _Atoms(SafeAtoms):
    """The atoms as the access log's format reads them: secret links redacted, controls escaped."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return escape_controls(redact_text(value)) if isinstance(value, str) else value


# gunicorn's warning for a request it refuses quotes what the client sent (a request line split
# anywhere, a header): the reason stays, what it quotes is withheld.
_REFUSED = re.compile(r"^(?P<reason>Invalid request from ip=\S*: [^:'\"]*)(?P<quoted>[:'\"].*)$", re.DOTALL)
WITHHELD = ": (what the client sent is withheld)"


class _RedactSecrets(logging.Filter):
    """The error log's messages (and tracebacks) with secret links redacted."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (the handler reports a message that does not format)
            return True
        if refused := _REFUSED.match(message):
            message = refused["reason"].rstrip() + WITHHELD
        record.msg, record.args = redact_text(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


_REDACT_SECRETS = _RedactSecrets()


class AccessLogger(Logger):
    atoms_wrapper_class = _Atoms

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(_REDACT_SECRETS)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get(LOG_PATH_KEY) or loggable_path(environ.get("PATH_INFO", ""))
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = ""
        # Each atom the format names is redacted and escaped as it is read (``_Atoms``).
        return atoms

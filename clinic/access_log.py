"""gunicorn's access log, with secret paths redacted and control characters escaped.

``clinic/gunicorn.py`` names this logger class. The path comes from the note the site leaves in the
WSGI environ (``clinic.redaction.LogPathMiddleware``), or is worked out here for a request that
never reached a view.
"""

from gunicorn.glogging import Logger

from .redaction import LOG_PATH_KEY, escape_controls, loggable_path


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get(LOG_PATH_KEY) or loggable_path(environ.get("PATH_INFO", ""))
        atoms["U"] = path
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {path} {environ.get('SERVER_PROTOCOL')}"
        atoms["q"] = ""
        return {
            key: escape_controls(value) if isinstance(value, str) else value for key, value in atoms.items()
        }

"""Settings for the clinic's site, read from the environment.

Development works with no variables set beyond ``DEBUG=true`` (``make run`` sets it).
With ``DEBUG`` off, the site refuses to start without a real ``SECRET_KEY`` and
``ALLOWED_HOSTS``. Every variable is documented in ``.env.example``.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def rate_limit(name, default):
    """A rate limit from the environment (``5/10m``: five in each ten minutes); refused at start
    when it is not one, rather than on the first request it limits."""
    from clinic.rate_limits import parse_rate

    value = env.str(name, default=default)
    try:
        parse_rate(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}.") from None
    return value


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if DEBUG:
    SECRET_KEY = SECRET_KEY or "development-only-secret-key-not-for-production"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]
else:
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("development-only"):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random string of at least 50 characters when DEBUG is off."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the site's host names when DEBUG is off.")

# Application definition

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_static",
    "django_otp.plugins.otp_totp",
    "two_factor",
    "education",
    "appointments",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The policy headers go on every response, static files and the 400 for a Host not in
    # ALLOWED_HOSTS included (CommonMiddleware refuses that Host), so they come this early.
    "csp.middleware.CSPMiddleware",
    "clinic.middleware.security_headers",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages are compressed here, below WhiteNoise (static files come precompressed), with the random
    # padding Django adds against BREACH; the shared cache in front never compresses a page itself.
    "django.middleware.gzip.GZipMiddleware",
    # Inside GZip (it validates the uncompressed page), outside the session, locale and CSRF
    # middlewares (it replaces their Vary headers on public pages): see clinic/http_cache.py.
    "clinic.http_cache.cache_policy",
    # The page's language from its URL alone (/es/... or English), before the URLs are resolved:
    # never from the browser's Accept-Language, so English pages carry no Vary on it.
    "clinic.middleware.language_from_path",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CSRF: its refusals are logged with the path, which may carry a patient's secret.
    "clinic.redaction.LogPathMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the CSRF check, the user and the messages: keeps a workspace POST that arrives after
    # the idle logout, and gives it back after the same user signs in again.
    "clinic.staff_work.KeepStaffWorkMiddleware",
    # A refused method (405) gets the site's own page, inside the header middlewares.
    "clinic.middleware.branded_method_not_allowed",
    # A database that is gone or too slow answers "try again or call" (503), not a bare 500.
    "clinic.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
                "clinic.context_processors.languages",
            ],
        },
    },
]

WSGI_APPLICATION = "clinic.wsgi.application"

# Database: PostgreSQL everywhere. The default is a local database named "clinic",
# reached through the Unix socket as the current OS user.

DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres:///clinic")}
# psycopg2 has no connection pool: keep connections open between requests, and check
# them before reuse so a dropped connection is replaced instead of failing a request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A locked table or a runaway query fails the request well inside gunicorn's 30-second timeout, so
# the patient gets "try again or call" instead of a killed worker and a bare error.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
    f"-c lock_timeout={env.int('DATABASE_LOCK_TIMEOUT_MS', default=5000)} "
    f"-c statement_timeout={env.int('DATABASE_STATEMENT_TIMEOUT_MS', default=20000)}"
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis, shared by every app server (rate limits count across processes). It is optional:
# with Redis down or hanging, pages are built without it and the rate limits let requests through
# (clinic/cache.py). The timeouts bound what a hanging Redis can add to a page.

CACHES = {
    "default": {
        "BACKEND": "clinic.cache.ResilientRedisCache",
        "LOCATION": env.str("REDIS_URL", default="redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="clinic"),
        "TIMEOUT": 300,
        "OPTIONS": {
            "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=0.25),
            "socket_timeout": env.float("REDIS_TIMEOUT_SECONDS", default=0.5),
            # After an error, patients are served without the cache this long before it is tried again.
            "retry_after": env.float("CACHE_RETRY_AFTER_SECONDS", default=5.0),
        },
    }
}

# The shared HTTP cache in front of the app (a CDN, or nginx with deploy/nginx.conf) keeps public
# pages (see clinic/http_cache.py). Every change to the library purges them at once when
# HTTP_CACHE_PURGE_URL names the cache, so these ages only bound what a purge cannot reach:
# - browsers keep a page 1 minute (no purge reaches a patient's browser);
# - shared caches 5 minutes, then serve the old copy up to 1 minute more while one request
#   fetches the new one, so a spike never queues at the origin behind an expired page.
# Without a purge, an edit shows everywhere within 5 + 1 + 1 minutes at the most.
PUBLIC_PAGE_MAX_AGE = env.int("PUBLIC_PAGE_MAX_AGE", default=60)
PUBLIC_PAGE_SHARED_MAX_AGE = env.int("PUBLIC_PAGE_SHARED_MAX_AGE", default=5 * 60)
PUBLIC_PAGE_STALE_WHILE_REVALIDATE = env.int("PUBLIC_PAGE_STALE_WHILE_REVALIDATE", default=60)
HTTP_CACHE_PURGE_URL = env.str("HTTP_CACHE_PURGE_URL", default="")
if HTTP_CACHE_PURGE_URL and not HTTP_CACHE_PURGE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("HTTP_CACHE_PURGE_URL must be an http:// or https:// address.")

# Staff logins: django-axes locks an account after repeated failures (counted in
# PostgreSQL, so the count holds across app servers); two-factor authentication is
# required before the staff workspace opens; an idle staff session ends after 15 minutes.

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
# The combination of username and address: a stranger who knows a username locks out only
# themselves, and a whole clinic behind one address is never locked out together. Spraying many
# usernames from one address meets STAFF_LOGIN_RATE_LIMIT instead.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The same client address as the rate limits (TRUSTED_PROXY_COUNT), not the balancer's.
AXES_CLIENT_IP_CALLABLE = "clinic.network.client_ip"
STAFF_LOGIN_RATE_LIMIT = rate_limit("STAFF_LOGIN_RATE_LIMIT", "60/10m")
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LOGIN_URL = "two_factor:login"
LOGIN_REDIRECT_URL = "admin:index"
TWO_FACTOR_PATCH_ADMIN = False
OTP_TOTP_ISSUER = env.str("CLINIC_NAME", default="Anti Aging and Ketamine Center")

# A staff member's set-password link (an invitation, or a reset a clinic admin asked for) works
# once, for this long.
PASSWORD_RESET_TIMEOUT = env.int("STAFF_LINK_HOURS", default=24) * 3600

# Sessions are the staff's (Django's, in PostgreSQL): a patient has none.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=15 * 60)
# The idle-logout warning appears this long before the session ends.
SESSION_WARNING_SECONDS = env.int("SESSION_WARNING_SECONDS", default=2 * 60)
# Work posted after the idle logout is kept this long for its browser, then deleted.
UNSAVED_STAFF_WORK_HOURS = 24
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Passwords

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalization

# English at today's addresses, Spanish under /es/ (clinic/urls.py). The staff workspace is English.
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en-us", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dollar amounts in Spanish as in the United States ($1,500), not as in Spain (clinic/formats/es).
FORMAT_MODULE_PATH = ["clinic.formats"]
TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

# Static files: Bootstrap comes from the npm package installed at set-up (never a CDN,
# never copied into the repository); WhiteNoise serves everything with far-future
# cache headers once collected with hashed names.

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist" / "css"),
]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_MAX_AGE = 60 if DEBUG else 3600

# Forms

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: through Django's mail API; SMTP settings from the environment.

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="appointments@clinic.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
CLINIC_STAFF_EMAIL = env.str("CLINIC_STAFF_EMAIL", default="frontdesk@clinic.example")

# The clinic: shown on every page and in every e-mail.

CLINIC_NAME = env.str("CLINIC_NAME", default="Anti Aging and Ketamine Center")
CLINIC_PHONE = env.str("CLINIC_PHONE", default="+15550100100")
CLINIC_ADDRESS = env.str("CLINIC_ADDRESS", default="100 Main Street, Springfield, NY 10001")
CLINIC_SITE_URL = env.str("CLINIC_SITE_URL", default="http://127.0.0.1:8000")
# How soon a new request is first contacted, counted in opening hours: an urgent one within the
# hour, any other within a working day. A request still "new" after that is overdue.
CONSULTATION_URGENT_TARGET_MINUTES = env.int("CONSULTATION_URGENT_TARGET_MINUTES", default=60)
CONSULTATION_ROUTINE_TARGET_HOURS = env.int("CONSULTATION_ROUTINE_TARGET_HOURS", default=8)
# Who hears, at any hour, about requests that need attention (urgent and new, or overdue):
# comma-separated addresses. Empty: nobody is alerted beyond the new-request alert.
CLINIC_ON_CALL_EMAILS = env.list("CLINIC_ON_CALL_EMAILS", default=[])
# Each request is named in an on-call alert at most once in this many minutes.
ON_CALL_ALERT_INTERVAL_MINUTES = env.int("ON_CALL_ALERT_INTERVAL_MINUTES", default=60)

# Security headers. Production hardening is switched on whenever DEBUG is off.

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "clinic.views.csrf_failure"

# HTTPS: on by default whenever DEBUG is off. Behind a TLS-terminating load balancer,
# set TRUST_X_FORWARDED_PROTO=true so Django knows the original request was HTTPS.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz\Z", r"^readyz\Z"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind load balancers every connection comes from a balancer; set TRUSTED_PROXY_COUNT to the
# number of proxies in front of the app so rate limits count each client, not the balancer.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        # Bootstrap draws its form controls with inline SVG data: URIs.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    }
}

# Logging: to stdout, without request bodies. Nothing here logs form data.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The formatter withholds exception messages that may quote a patient's answers (a database
    # error's DETAIL lists the refused row): see clinic/redaction.py.
    "formatters": {
        "plain": {
            "class": "clinic.redaction.Formatter",
            "format": "{asctime} {levelname} {name} {message}",
            "style": "{",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# The staff workspace's address: configurable, so it can be moved off the well-known path.
ADMIN_URL = env.str("ADMIN_URL", default="admin/")

# Consultation requests: the per-client limits (counted in the shared cache, keyed by a hash
# of the client's address, never the address itself), and how long a patient's status link works.
CONSULTATION_RATE_LIMIT = rate_limit("CONSULTATION_RATE_LIMIT", "5/10m")
CONSULTATION_ATTEMPT_RATE_LIMIT = rate_limit("CONSULTATION_ATTEMPT_RATE_LIMIT", "30/10m")
# An IPv6 client is counted by its /64 and also by its /48, which may send this many times each
# per-client limit's count (a /48 holds 65,536 /64s).
RATE_LIMIT_IPV6_48_MULTIPLIER = env.int("RATE_LIMIT_IPV6_48_MULTIPLIER", default=4)
if RATE_LIMIT_IPV6_48_MULTIPLIER < 1:
    raise ImproperlyConfigured("RATE_LIMIT_IPV6_48_MULTIPLIER must be 1 or more.")
# New requests per e-mail address and per phone number, whatever the client (each one mails the
# address it gives), counted by a hash of the address or number.
CONSULTATION_EMAIL_RATE_LIMIT = rate_limit("CONSULTATION_EMAIL_RATE_LIMIT", "3/d")
CONSULTATION_PHONE_RATE_LIMIT = rate_limit("CONSULTATION_PHONE_RATE_LIMIT", "3/d")
# The clinic-wide ceiling on open times booked online, per clock hour and per day (UTC): past it
# a patient is asked to call, or to send without a time, and staff get one e-mail a day about it.
BOOKING_CEILING_PER_HOUR = env.int("BOOKING_CEILING_PER_HOUR", default=10)
BOOKING_CEILING_PER_DAY = env.int("BOOKING_CEILING_PER_DAY", default=40)
if min(BOOKING_CEILING_PER_HOUR, BOOKING_CEILING_PER_DAY) < 0:
    raise ImproperlyConfigured("BOOKING_CEILING_PER_HOUR and BOOKING_CEILING_PER_DAY must be 0 or more.")
# Unfinished urgent requests (abandoned drafts with a yes to the safety question) e-mailed to staff
# one by one, clinic-wide; past it they still reach the workspace, with one summary e-mail a period.
URGENT_DRAFT_ALERT_LIMIT = rate_limit("URGENT_DRAFT_ALERT_LIMIT", "10/h")
CONSULTATION_STATUS_LINK_MAX_AGE = env.int("CONSULTATION_STATUS_LINK_MAX_AGE", default=180 * 24 * 3600)
# The clinical intake's link (from the confirmation page, the e-mails and the status page): long
# enough for a consultation booked weeks ahead, shorter than the status link's.
CONSULTATION_INTAKE_LINK_MAX_AGE = env.int("CONSULTATION_INTAKE_LINK_MAX_AGE", default=60 * 24 * 3600)
# The intake reminder goes out when a booked consultation is this near and the intake is not complete.
INTAKE_REMINDER_HOURS = env.int("INTAKE_REMINDER_HOURS", default=48)
# The confirmation page after sending a request opens only in the browser that sent it, this many
# seconds at most (its cookie ends sooner, after SESSION_COOKIE_AGE without a look at the page).
CONSULTATION_CONFIRMATION_MAX_AGE = env.int("CONSULTATION_CONFIRMATION_MAX_AGE", default=3600)

# The e-mail outbox worked by `manage.py mail_worker`: retries back off from 5 s to 15 min.
OUTBOX_POLL_INTERVAL_SECONDS = env.float("OUTBOX_POLL_INTERVAL_SECONDS", default=5.0)
OUTBOX_BACKOFF_BASE_SECONDS = 5
OUTBOX_BACKOFF_MAX_SECONDS = 15 * 60
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=60)

# Retention: closed consultation requests are anonymised this many days after they closed
# (`manage.py purge_closed_requests`, run daily). Open requests and the audit trail are kept.
CONSULTATION_RETENTION_DAYS = env.int("CONSULTATION_RETENTION_DAYS", default=365)

# Hours before a booked consultation that the patient is reminded by e-mail.
APPOINTMENT_REMINDER_HOURS = env.list("APPOINTMENT_REMINDER_HOURS", cast=int, default=[24, 2])
# Until this many hours before a booked consultation the patient may move or cancel it from their
# status link; after that, they are asked to call the clinic.
APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS = env.int("APPOINTMENT_PATIENT_CHANGE_CUTOFF_HOURS", default=24)

# Django's error reports withhold the same messages and every POST parameter.
DEFAULT_EXCEPTION_REPORTER = "clinic.redaction.ExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "clinic.redaction.ExceptionReporterFilter"

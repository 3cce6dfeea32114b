"""Settings: every value comes from the environment, with working defaults.

Zero setup runs on SQLite, the in-memory channel layer and the built-in
simulator; production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL
and REDIS_URL (see README for the full list).
"""

import importlib.util
import logging
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    # Anything else read as "off" turned HTTPS settings off without a word.
    raise ImproperlyConfigured(
        f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {value!r}."
    )


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "a whole number")


def env_seconds(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number of seconds")


def _env_number[N: (int, float)](name: str, default: N, kind: type[N], what: str) -> N:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, not {value!r}.") from None


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

# Host names only ("chat.example.com", ".example.com" for every subdomain):
# HTTP requests and websocket origins are both checked against this list.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
for _host in ALLOWED_HOSTS:
    if "://" in _host or "/" in _host:
        raise ImproperlyConfigured(
            f"ALLOWED_HOSTS takes host names, not URLs: {_host!r}. "
            "Put full origins (https://...) in CSRF_TRUSTED_ORIGINS."
        )
    # Django matches the request's host without its port: with one, no request
    # matched and every page answered 400. ("[::1]" is an IPv6 address.)
    if ":" in _host.rpartition("]")[2]:
        raise ImproperlyConfigured(f"ALLOWED_HOSTS takes host names without a port: {_host!r}.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "chatapp.accounts",
    "chatapp.gateways",
    "chatapp.usage",
    "chatapp.chat",
]

MIDDLEWARE = [
    # First: every log line of a request carries its id; health probes are
    # answered before host checks, redirects, sessions and login.
    "chatapp.observability.RequestIdMiddleware",
    "chatapp.observability.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After LoginRequiredMiddleware and HtmxMiddleware: the login redirect an
    # htmx request gets becomes one for the whole page.
    "chatapp.accounts.middleware.HtmxLoginRedirect",
    "chatapp.accounts.middleware.FirstRunMiddleware",
]

ROOT_URLCONF = "chatapp.urls"

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
                "django.template.context_processors.csp",
            ],
        },
    },
]

ASGI_APPLICATION = "chatapp.asgi.application"

try:
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
            # In production reuse connections (checked before use): opening one per
            # query costs more than the query under many concurrent streams.
            conn_max_age=env_int("CONN_MAX_AGE", 0 if DEBUG else 60),
            conn_health_checks=True,
        )
    }
except ValueError as error:
    # dj_database_url's own message names no variable; the URL is not repeated
    # (it may hold a password).
    raise ImproperlyConfigured(
        f"DATABASE_URL could not be read: {error} Expected e.g. "
        "postgres://user:password@host:5432/name, with / @ : ? # in the password "
        "percent-encoded (or the password left out and set in PGPASSWORD)."
    ) from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Generation tasks write while pages read: WAL and a busy timeout keep
    # SQLite from answering "database is locked" under that mix.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests get a file, not Django's shared in-memory database: that one
    # answers "database table is locked" at once when a streaming answer's
    # save meets another connection's read, where a file waits its turn.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"chatapp-test-{os.getpid()}.sqlite3")
    }

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    # Not the value: it may hold a password. redis-py's own error came only at
    # the first login or websocket, and named no variable.
    raise ImproperlyConfigured(
        "REDIS_URL must start with redis://, rediss:// or unix://, e.g. redis://redis:6379/0."
    )
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: deltas go straight to the subscribed process. The list-based
            # RedisChannelLayer reads a process's messages one round trip at a time
            # and drops them past a per-process capacity, which streaming outruns.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "chatapp.chat.layers.SweepingInMemoryChannelLayer"}}

# Login throttling and send rate limits count in the cache: shared through
# Redis when there is more than one process, per process otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "chatapp"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "chatapp",
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Uploaded images: private files, never served by URL (views stream them to
# their owners). MEDIA_STORAGE=s3 keeps them in an S3-compatible bucket through
# django-storages (pip install django-storages[s3]), for more than one host.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "filesystem").strip().lower()
if MEDIA_STORAGE == "filesystem":
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif MEDIA_STORAGE == "s3":
    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            "MEDIA_STORAGE=s3 needs django-storages: pip install 'django-storages[s3]'."
        )
    if not os.environ.get("MEDIA_S3_BUCKET"):
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET.")
    # Credentials come the usual boto3 way (AWS_ACCESS_KEY_ID and
    # AWS_SECRET_ACCESS_KEY, or an instance role), never from here.
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["MEDIA_S3_BUCKET"],
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "location": os.environ.get("MEDIA_S3_PREFIX", "media"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }
else:
    raise ImproperlyConfigured(
        f"MEDIA_STORAGE must be 'filesystem' or 's3', not {MEDIA_STORAGE!r}."
    )
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Images arrive over HTTP uploads, not the websocket (daphne caps client
# frames at 1 MiB).
CHAT_MAX_IMAGES_PER_MESSAGE = env_int("CHAT_MAX_IMAGES_PER_MESSAGE", 4)
CHAT_MAX_IMAGE_BYTES = env_int("CHAT_MAX_IMAGE_BYTES", 20 * 1024 * 1024)
CHAT_MAX_IMAGE_PIXELS = env_int("CHAT_MAX_IMAGE_PIXELS", 50_000_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The gateway. With no key the built-in simulator answers, so a fresh clone
# works offline; a real gateway is these three variables and nothing else.
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_MODELS = env_list("OPENAI_MODELS", "o4-mini,o3-mini,o1-mini")

# Streamed text goes to viewers at most once per this many seconds per answer
# (one display frame at 60 Hz: a person sees no difference, a busy browser
# gets fewer frames), and is saved to the database once per CHAT_PERSIST_SECONDS.
CHAT_COALESCE_SECONDS = env_seconds("CHAT_COALESCE_SECONDS", 0.016)
CHAT_PERSIST_SECONDS = env_seconds("CHAT_PERSIST_SECONDS", 1.0)
# A generating task proves it is alive this often; three missed beats and its
# answer is marked interrupted (the process died).
CHAT_HEARTBEAT_SECONDS = env_seconds("CHAT_HEARTBEAT_SECONDS", 5)
CHAT_RECOVERY = env_bool("CHAT_RECOVERY", True)
# Simulator pacing: seconds between streamed chunks (tests make it fast).
SIMULATOR_CHUNK_DELAY = env_seconds("SIMULATOR_CHUNK_DELAY", 0.03)

# Abuse limits (0 turns one off). Failed logins count per username and client
# address; after LOGIN_FAILURES_ALLOWED failures that pair waits
# LOGIN_LOCKOUT_SECONDS (the address alone after four times as many, see
# chatapp.ratelimit). Sends count per member over a sliding minute.
LOGIN_FAILURES_ALLOWED = env_int("LOGIN_FAILURES_ALLOWED", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
CHAT_SENDS_PER_MINUTE = env_int("CHAT_SENDS_PER_MINUTE", 20)

# Transport security. Production sits behind a reverse proxy that terminates
# TLS and says so in X-Forwarded-Proto (BEHIND_TLS_PROXY=1); everything is
# HTTPS-only then. The defaults follow DEBUG: off in development, on otherwise.
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes talk plain HTTP to the process itself (they are answered before
# this applies anyway; listed so that stays true if the middleware moves).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


def _websocket_sources(hosts: list[str], tls: bool) -> list[str]:
    """Explicit ws(s):// sources for our own hosts.

    CSP3 lets 'self' match ws:/wss: on the same host and port, but browsers
    before Chrome 71 and Safari 16 did not; naming the hosts costs nothing.
    """
    schemes = ["wss"] if tls else ["ws", "wss"]
    sources = []
    for host in hosts:
        if host == "*" or not host:
            continue
        names = [f"*{host}", host[1:]] if host.startswith(".") else [host]
        sources += [f"{scheme}://{name}" for name in names for scheme in schemes]
    return sources


# Content-Security-Policy (Django's own). Scripts only from our origin and with
# the per-response nonce ({{ csp_nonce }}; django-htmx's {% htmx_script %}
# adds it); no inline script, no eval (htmx's allowEval is off), no inline
# styles (htmx's indicator styles are off).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF, *_websocket_sources(ALLOWED_HOSTS, SECURE_SSL_REDIRECT)],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Logs: JSON lines in production (one object per line, with the request id,
# and a completion's provider, model, status, seconds and tokens), readable
# text in development. API keys and bearer tokens are masked either way.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', not {LOG_FORMAT!r}.")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
if LOG_LEVEL not in logging.getLevelNamesMapping() or LOG_LEVEL == "NOTSET":
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {LOG_LEVEL!r}."
    )
LOGGING_CONFIG = "chatapp.observability.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "chatapp.observability.RequestIdFilter"},
        "redact": {"()": "chatapp.observability.RedactSecretsFilter"},
    },
    "formatters": {
        "text": {
            "()": "chatapp.observability.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "chatapp.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # httpx logs every request at INFO; "completion finished" already says more, once.
    "loggers": {
        "httpx": {"level": "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"},
        # Warnings go to the console handler above only (not also Django's own).
        "py.warnings": {"handlers": []},
    },
}

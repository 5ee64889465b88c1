"""Relecture settings: everything comes from the environment.

With no environment variables at all, Relecture runs on the embedded default: SQLite
and kombu's filesystem transport under var/, so `make demo` needs nothing installed
beyond the requirements. Production sets DATABASE_URL, REDIS_URL and SECRET_KEY
(docker-compose.yml); tests and CI point DATABASE_URL/REDIS_URL at the real
PostgreSQL and Redis on 127.0.0.1.
"""

from __future__ import annotations

import math
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting; anything else (a typo like "ture") stops the start instead of reading as no."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected one of 1/0, true/false, yes/no, on/off")


def _env_number(
    name: str, default: float, parse: type[int] | type[float], minimum: float, maximum: float | None
) -> int | float:
    """A number within [minimum, maximum]; unset or empty reads as the default, anything else stops the start."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    kind = "an integer" if parse is int else "a number"
    accepted = f"{kind} from {minimum} to {maximum}" if maximum is not None else f"{kind} of at least {minimum}"
    try:
        number = parse(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected {accepted}") from None
    # float() reads "nan" and "inf"; neither is a size, a count or a number of seconds.
    if not math.isfinite(number) or number < minimum or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(f"{name}={value!r}: expected {accepted}")
    return number


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole-number setting: "abc", "1.5" or a value out of range stops the start, naming the variable."""
    return int(_env_number(name, default, int, minimum, maximum))


def env_float(name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    """A numeric setting (sizes, seconds): "abc", "nan", "inf" or a value out of range stops the start."""
    return float(_env_number(name, default, float, minimum, maximum))


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of a few words, matched without regard to case and returned as spelled in ``choices``."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    by_key = {choice.lower(): choice for choice in choices}
    if value.strip().lower() not in by_key:
        raise ImproperlyConfigured(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return by_key[value.strip().lower()]


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


VAR_DIR = Path(os.environ.get("RELECTURE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    """SECRET_KEY from the environment; in DEBUG, a key generated once into var/.

    No key is ever committed: production must set SECRET_KEY, and the development key
    is private to the machine (var/ is git-ignored).
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# Where datasets' files live: imports record image paths relative to an image root
# under DATA_ROOT, never image bytes in the database.
DATA_ROOT = Path(os.environ.get("DATA_ROOT", VAR_DIR / "data"))
EXPORT_ROOT = Path(os.environ.get("EXPORT_ROOT", VAR_DIR / "exports"))
MODEL_ROOT = Path(os.environ.get("MODEL_ROOT", VAR_DIR / "models"))
# Training jobs (training/jobs.py): torch threads per job (0: every core); the text the
# tiny preset's tokenizer learns (empty: the job's own records); the paper preset's
# local model directories (nothing is ever downloaded).
TRAINING_THREADS = env_int("TRAINING_THREADS", 0)
TRAINING_TINY_CORPUS = os.environ.get("TRAINING_TINY_CORPUS", "")
# Multi-GPU jobs (gpus > 1) run under torchrun with NCCL; on a machine without CUDA they are
# refused unless this is on, which runs the processes on CPUs with gloo (tests, dry runs).
TRAINING_DISTRIBUTED_CPU = env_bool("TRAINING_DISTRIBUTED_CPU", False)
# Multi-node jobs (training/nodes.py): the address other nodes reach this worker's
# rendezvous at (empty: this host's name resolved), the port (0: a free one), and how
# long every node waits for the others before the job fails naming who never came.
TRAINING_RENDEZVOUS_HOST = os.environ.get("TRAINING_RENDEZVOUS_HOST", "")
TRAINING_RENDEZVOUS_PORT = env_int("TRAINING_RENDEZVOUS_PORT", 0, maximum=65535)
TRAINING_RENDEZVOUS_TIMEOUT = env_int("TRAINING_RENDEZVOUS_TIMEOUT", 300, minimum=1)
# The memory plan (training/memory_plan.py) checks a job against GPUs of this size before
# it is queued, at this sequence length (LLaVA-1.5's model_max_length).
TRAINING_GPU_MEMORY_GIB = env_float("TRAINING_GPU_MEMORY_GIB", 80.0, minimum=1.0)
TRAINING_SEQUENCE_LENGTH = env_int("TRAINING_SEQUENCE_LENGTH", 2048, minimum=1)
TRAINING_PAPER_LANGUAGE_MODEL_DIR = os.environ.get("TRAINING_PAPER_LANGUAGE_MODEL_DIR", "")
TRAINING_PAPER_VISION_TOWER_DIR = os.environ.get("TRAINING_PAPER_VISION_TOWER_DIR", "")

# The `openai` translation engine's server: vLLM's OpenAI-compatible API in production.
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8001/v1")
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "meta-llama/Llama-3.1-8B-Instruct")
# Servers a translation job request may choose with the `base_url` option (comma-separated);
# OPENAI_BASE_URL is always allowed. No request sets any other URL (translation/engines/options.py).
OPENAI_ALLOWED_BASE_URLS = env_list("OPENAI_ALLOWED_BASE_URLS", "")
# The `apertium` engine's program and its data: settings only, never a job request's options.
APERTIUM_EXECUTABLE = os.environ.get("APERTIUM_EXECUTABLE", "apertium")
APERTIUM_DATADIR = os.environ.get("APERTIUM_DATADIR", "/usr/share/apertium")

# Import limits (catalog/importers/base.py): one conversation turn, one record as read from
# its file (JSON Lines: one line), one external id (Item.external_id holds 200). A turn may
# exceed apertium's 20,000-character segment: that stays one item's translation error.
IMPORT_MAX_TURN_CHARS = env_int("IMPORT_MAX_TURN_CHARS", 32000, minimum=1)
IMPORT_MAX_RECORD_BYTES = env_int("IMPORT_MAX_RECORD_BYTES", 1000000, minimum=1)
IMPORT_MAX_ID_CHARS = env_int("IMPORT_MAX_ID_CHARS", 200, minimum=1, maximum=200)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "jobs",
    "catalog",
    "audit",
    "exports",
    "translation",
    "training",
    "evaluation",
    "study",
    "home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from gunicorn itself (no nginx): hashed names, compressed, cached forever.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.errors.MethodNotAllowedPage",
    # Last, as axes asks: turns a locked-out login's response into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'relecture.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default shares one SQLite file between the web server's threads, a
    # Celery worker and torchrun's ranks. Three settings make that safe:
    # - WAL: readers never wait for a writer (the grading page's prefetch reads while a
    #   grade is written);
    # - IMMEDIATE transactions: a transaction that will write takes the write lock when
    #   it begins. With SQLite's default (DEFERRED) two readers that both go on to write
    #   deadlock, and one fails at once with "database is locked": the busy timeout
    #   cannot help a lock upgrade. Writes then queue, each waiting up to `timeout`;
    # - a busy timeout long enough for a worker's batch write to finish.
    # docs/performance.md ("The embedded default under the grading page") has the figures.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, not Django's in-memory default: the live server's threads then hold
    # their own connections (an in-memory database is one connection shared by every
    # thread), and Celery workers and torchrun ranks started by tests can open it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_relecture.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed logins (every authenticate(): /accounts/login/, /admin/login/) are counted by
# django-axes per normalised username + client address, with attempts reserved before
# the password check so concurrent tries cannot exceed the limit: accounts/login_throttle.py.
# Counting per pair means a stranger elsewhere can never lock a user out.
AUTHENTICATION_BACKENDS = ["accounts.login_throttle.ThrottledModelBackend"]
AXES_HANDLER = "accounts.login_throttle.ReservingDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Tries made while locked out do not extend the lock, so the lockout page's time holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_CALLABLE = "accounts.login_keys.username_for_axes"
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
# Client addresses: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front (nginx, a
# load balancer) the address they appended to X-Forwarded-For. Not ipware's proxy
# count: it answers None for a chain of unexpected length, and every None shares one counter.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "accounts.login_keys.client_ip"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# plotly.js is vendored (static/vendor/plotly/plotly.min.js, see static/vendor/README.md): no CDN,
# and no process imports the plotly Python package to find it.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# WhiteNoise warns at every start if it is missing, and DEBUG and the tests never collect into it.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Production (DEBUG off) serves what `collectstatic` gathered into STATIC_ROOT (the Dockerfile
# runs it at build) under hashed, compressed names; DEBUG and the tests find files in place,
# so they need no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS ends at Caddy (deploy/Caddyfile), which proxies to gunicorn and says the scheme in
# X-Forwarded-Proto, overwriting any the client sent; gunicorn is reachable only from it
# (docker-compose.yml publishes no port for `web`), so the header can be trusted.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
# includeSubDomains covers names under this host only (relecture.example.org's own subdomains).
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading is a promise for the whole registered domain that the browsers' list keeps for
# months: opt in with SECURE_HSTS_PRELOAD=1, so check --deploy's reminder (W021) is silenced.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# No inline script or style anywhere: every page's JS and CSS are files under static/
# (json_script data is type=application/json, which no browser executes). htmx's indicator
# <style> is turned off by the htmx-config meta tag in templates/base.html.
# DEBUG (and so the test suite) only reports violations on the console: Playwright's
# wait_for_function evaluates strings, which 'unsafe-eval' would refuse; production enforces
# (tests/browser/test_production_static_csp.py proves the pages work under it).
# (Not a CSP_* setting name: django-csp 4 refuses those as its old format.)
_CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", DEBUG)
_CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # NONCE: only a page that asks for one gets it (the API docs' Swagger UI settings).
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if _CSP_REPORT_ONLY:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CONTENT_SECURITY_POLICY
else:
    CONTENT_SECURITY_POLICY = _CONTENT_SECURITY_POLICY

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers plus config/inputs.py's checks: JSON depth, no NUL or other control characters in text.
    "DEFAULT_PARSER_CLASSES": ["config.inputs.JSONParser", "config.inputs.FormParser", "config.inputs.MultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A FieldError (BadInput is one) from a view or a service is answered {"detail", "field"} with its status.
    "EXCEPTION_HANDLER": "api.handler.exception_handler",
    # Every DRF view is throttled per user unless it names its own throttles (api/throttles.py).
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.ApiThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relecture API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Training jobs and evaluation runs share one state set; snapshots have their own.
    "ENUM_NAME_OVERRIDES": {"JobStateEnum": "training.models.JobState"},
}

# Celery: Redis in production and tests, kombu's filesystem transport by default.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_QUEUE_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    for sub in ("out", "processed", "control"):
        (CELERY_QUEUE_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "out"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "out"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        # kombu's default is ./control, a folder in whatever directory the process started in.
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
        # kombu looks for new message files once a second by default: every queued job (a
        # study queues dozens) then waited up to 1 s. A directory listing every 0.1 s is
        # cheap next to that.
        "polling_interval": 0.1,
    }
# The cache holds the API's throttle counts (api/throttles.py): on Redis, every gunicorn worker
# counts against the same limit; in process memory (no Redis), each worker counts its own.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "relecture"}}  # fmt: skip
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Job state lives in our own tables (TrainingJob.state, ...), so no result backend.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# GPU work (training, evaluation) goes to `gpu` workers, which run with concurrency 1
# per GPU; everything else to `default`. Translation jobs pick their queue per job
# (translation.services.queue_for): in-process vLLM and hf on CUDA go to `gpu`.
CELERY_TASK_ROUTES = {
    "training.tasks.*": {"queue": "gpu"},
}
# A job is acknowledged only once it finishes, so a killed worker's job is redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Every kind of job writes a heartbeat this often, from a thread of its own (jobs/lifecycle.py);
# a running job silent for JOB_STALE_SECONDS is taken to be orphaned by a dead worker: it
# may be requeued, and another worker (or its own redelivered message) claims it.
JOB_HEARTBEAT_SECONDS = env_float("JOB_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 30, minimum=1)
# Test and demo knob: a snapshot build waits this long after claiming its row, so a build
# in progress can be watched (or its worker killed, tests/audit/test_export_concurrency.py).
EXPORT_BUILD_DELAY_SECONDS = env_float("EXPORT_BUILD_DELAY_SECONDS", 0.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

"""All settings come from environment variables; the defaults run on a bare laptop."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_decimal,
    env_int,
    env_list,
    env_required,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PLATFORM_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY") or "insecure-development-key-do-not-use-in-production"
else:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY", "a long random string, required when DJANGO_DEBUG is off")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://localhost:8000", ("http", "https")).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "config",
    "merchants",
    "chain",
    "rates",
    "webhooks",
    "invoices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "merchants.User"
LOGIN_URL = "/accounts/login/"

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

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
except Exception as exc:  # dj_database_url raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is malformed ({exc}): {DATABASE_URL!r}") from None
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded run's web, worker and watcher processes share one SQLite file: writers queue, not fail.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Off behind a pooler in transaction mode, which does not keep a session's prepared statements (config/prepared.py).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", default=True)

REDIS_URL = env_str("REDIS_URL") or ""
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, ("redis", "rediss", "unix"))
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    # Embedded default: a broker kept in files, so a laptop needs no server.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
RATES_REFRESH_SECONDS = env_int("RATES_REFRESH_SECONDS", 60, minimum=5)
CHAIN_SYNC_SECONDS = env_int("CHAIN_SYNC_SECONDS", 10, minimum=1)
CHAIN_POLL_SECONDS = env_int("CHAIN_POLL_SECONDS", 5, minimum=1)
# On its very first sync the watcher starts this many blocks below the node's tip.
CHAIN_FIRST_SYNC_DEPTH = env_int("CHAIN_FIRST_SYNC_DEPTH", 6, minimum=0)
CHAIN_MEMPOOL_MEMORY_SECONDS = env_int("CHAIN_MEMPOOL_MEMORY_SECONDS", 24 * 3600, minimum=60)
# Celery's Django fixup would close each worker thread's database connection after every task; keep it instead
# (config/celery.py still drops a broken or expired one before each task).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000, minimum=0)
CELERY_BEAT_SCHEDULE = {
    "chain-sync": {"task": "chain.tasks.chain_sync_all_task", "schedule": CHAIN_SYNC_SECONDS},
    "invoices-expire": {"task": "invoices.tasks.invoices_expire_task", "schedule": env_int("INVOICE_EXPIRY_SWEEP_SECONDS", 10, minimum=1)},
    "rates-refresh": {"task": "rates.tasks.spot_rates_refresh_task", "schedule": RATES_REFRESH_SECONDS},
    "rates-prune": {"task": "rates.tasks.spot_rates_prune_task", "schedule": 3600},
}

LANGUAGE_CODE = "en"
# The hosted payment page speaks these (chosen by ?lang= or the browser); the rest of the platform stays English.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["merchants.authentication.AccessTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.DecimalJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Payments platform API",
    "DESCRIPTION": "GoCoin API v1 compatible merchant API: OAuth2 tokens, merchants and invoices.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Tokens are long-lived like GoCoin's: they stop working only when revoked.
ACCESS_TOKEN_LIFETIME_SECONDS = env_int("ACCESS_TOKEN_LIFETIME_SECONDS", 10 * 365 * 24 * 3600, minimum=60)
OAUTH2_PROVIDER = {
    "SCOPES": {
        "account_read": "Read account balances and transactions",
        "user_read": "Read your user profile",
        "user_read_write": "Read and change your user profile (not the password)",
        "user_password_write": "Change your password",
        "merchant_read": "Read your merchant profile",
        "merchant_read_write": "Read and change your merchant profile",
        "invoice_read": "Read invoices",
        "invoice_write": "Create invoices (but not read them)",
        "invoice_read_write": "Create and read invoices",
        "refund_read_write": "Read and request refunds",
        "oauth_read": "Read your OAuth applications",
        "oauth_read_write": "Read and change your OAuth applications",
    },
    "DEFAULT_SCOPES": ["user_read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_LIFETIME_SECONDS,
    "PKCE_REQUIRED": False,
    "OAUTH2_BACKEND_CLASS": "merchants.oauth.JSONOrFormOAuthLibCore",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    # GoCoin's .NET client sends the token as ?access_token=, so the query string stays an accepted transport.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": False,
}

INVOICE_EXPIRY_SECONDS = env_int("INVOICE_EXPIRY_SECONDS", 900, minimum=60)
# Expired and underpaid invoices stay watched this long after expiry, so a late payment is never lost.
INVOICE_MONITORING_SECONDS = env_int("INVOICE_MONITORING_SECONDS", 24 * 3600, minimum=0)
IDEMPOTENCY_WINDOW_SECONDS = env_int("IDEMPOTENCY_WINDOW_SECONDS", 24 * 3600, minimum=60)
SEARCH_MAX_PER_PAGE = env_int("SEARCH_MAX_PER_PAGE", 200, minimum=1)
DEFAULT_SERVICE_FEE_RATE = env_decimal("DEFAULT_SERVICE_FEE_RATE", "0.01")

RATES_MAX_AGE_SECONDS = env_int("RATES_MAX_AGE_SECONDS", 600, minimum=1)
# How long a process reuses the newest rate of a pair before asking the database again (0: every quote asks).
RATES_QUOTE_CACHE_SECONDS = env_int("RATES_QUOTE_CACHE_SECONDS", 2, minimum=0)
# The offline fixed-rate table: USD per unit of each currency. Cross rates come through USD.
RATES_FIXED_USD = {
    "BTC": "65000.00",
    "LTC": "85.00",
    "BCH": "350.00",
    "BSV": "45.00",
    "DOGE": "0.12",
    "USD": "1",
    "EUR": "1.08",
    "GBP": "1.27",
    "CAD": "0.73",
    "AUD": "0.66",
    "CHF": "1.13",
    "JPY": "0.0067",
}
# Rate providers by dotted path. The default is the offline table above; live sources are opt-in (see README).
RATES_PROVIDERS = env_list("RATES_PROVIDERS", "rates.providers.fixed.FixedRateProvider")
# Connect and read timeout of a provider request, and the bound on the fetching of a whole refresh.
RATES_PROVIDER_TIMEOUT_SECONDS = env_int("RATES_PROVIDER_TIMEOUT_SECONDS", 5, minimum=1)
# Base URL per provider name instead of the provider's own (a mirror, a test server): "kraken=https://...,ecb=https://...".
RATES_PROVIDER_URLS = dict(item.partition("=")[::2] for item in env_list("RATES_PROVIDER_URLS", ""))
RATES_OUTLIER_PERCENT = env_decimal("RATES_OUTLIER_PERCENT", "5")
if not (RATES_OUTLIER_PERCENT.is_finite() and 0 < RATES_OUTLIER_PERCENT < 100):
    raise ImproperlyConfigured(f"RATES_OUTLIER_PERCENT must be a number between 0 and 100, got {RATES_OUTLIER_PERCENT}")
RATES_MIN_SOURCES = env_int("RATES_MIN_SOURCES", 1, minimum=1)
RATES_HISTORY_DAYS = env_int("RATES_HISTORY_DAYS", 7, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

# Webhooks
# Loopback callback URLs (127.0.0.0/8, ::1) are refused unless this is on: for development and tests only.
WEBHOOKS_ALLOW_LOOPBACK = env_bool("WEBHOOKS_ALLOW_LOOPBACK", False)
# The most one callback request may take, connecting, sending and reading together.
WEBHOOKS_TIMEOUT_SECONDS = env_int("WEBHOOKS_TIMEOUT_SECONDS", 5, minimum=1)
WEBHOOKS_MAX_RESPONSE_BYTES = env_int("WEBHOOKS_MAX_RESPONSE_BYTES", 64 * 1024, minimum=1024)
# Requests in flight to one endpoint (scheme, host, port) at most; more wait for a retry, so a hanging endpoint holds
# at most this many worker threads.
WEBHOOKS_ENDPOINT_CONCURRENCY = env_int("WEBHOOKS_ENDPOINT_CONCURRENCY", 10, minimum=1)
# A worker's delivery threads that claim or record at the same moment at most; the others wait their turn. Waiting
# on endpoints needs many threads, but many at once in the database only contend there.
WEBHOOKS_DATABASE_CONCURRENCY = env_int("WEBHOOKS_DATABASE_CONCURRENCY", 2 * (os.cpu_count() or 1), minimum=1)
# After a rotation the previous signing secret still signs (beside the new one) this long.
WEBHOOKS_SECRET_OVERLAP_SECONDS = env_int("WEBHOOKS_SECRET_OVERLAP_SECONDS", 24 * 3600, minimum=0)
# Beat interval of the sweeper. Every retry due since the last sweep is queued at once: a short interval keeps those
# waves small, so that they do not hold back other merchants' first attempts.
WEBHOOKS_SWEEP_SECONDS = env_int("WEBHOOKS_SWEEP_SECONDS", 1, minimum=1)
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {
    "task": "webhooks.tasks.deliveries_sweep_task",
    "schedule": WEBHOOKS_SWEEP_SECONDS,
}

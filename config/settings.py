"""Django settings for the loyalty platform.

Every value comes from the environment (see docs/configuration.md) with a default
that is safe for development: DEBUG off unless asked for, a local PostgreSQL, no
Redis required (an in-process cache and eager Celery stand in when REDIS_URL is
unset).
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext

from config.env import env_bool, env_float, env_int, env_list, env_str, parse_database_url

# Django's generic classes (``ModelAdmin[Entry]`` …) are generic in django-stubs only;
# this lets the type arguments be written at runtime too (docs/decisions/0122).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("REQUIRE_SECRET_KEY", False):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # Development only: a fixed key so that tokens survive a restart of the demo.
    SECRET_KEY = "dev-insecure-loyalty-secret-key-change-me-0123456789abcdef"
# The key of the hidden verification codes' hashes (campaigns.scan.hidden, decision 0290).
# Its own setting, so SECRET_KEY can be rotated without voiding every printed label;
# empty: derived from SECRET_KEY.
HIDDEN_CODE_KEY = env_str("HIDDEN_CODE_KEY", "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The public address of the site, used in links and QR codes (https://<host>/s/<code>).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")

# --- Applications -----------------------------------------------------------------
# Public schema: users, merchants, the ledger and the mall are shared by everyone.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "points",
    "redemption",
    "webhooks",  # merchants' webhook endpoints and the delivery outbox
    "notifications",  # SMS to consumers (expiring points, order shipped), opt-outs
    "analytics",  # activity summaries rolled up from the ledger (public schema)
    "privacy",  # consumers' personal-data rights (PIPL): consent to share with merchants
    "portability",  # one merchant moved to another database (move_merchant); no models
    "earning",  # the merchant earning API: awards, purchases, pending awards to phones
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "graphene_django",
    "api",  # the GraphQL framework and schemas; management command graphql_snapshots; no models
    "frontend",  # the shared GraphQL client, base layout and page helpers; no models
    "frontend.consumer",  # consumer mobile web (/)
    "frontend.console",  # merchant console (/console/)
]
# One schema per merchant: its campaigns, codes, questionnaires and claims.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "campaigns",
    "dealers",  # dealers, sales regions, batch assignments, diversion events (issue 22)
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Merchant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
DATABASE_ROUTERS = ["core.db.replica.ReplicaRouter", "django_tenants.routers.TenantSyncRouter"]
# The replica connection follows the default connection's tenant (core.db.replica).
EXTRA_SET_TENANT_METHOD_PATH = "core.db.replica.set_tenant_on_replica"
# Send `SET search_path` only when the schema changes, not before every query: half
# the statements of a claim were these round trips.
TENANT_LIMIT_SET_CALLS = True
# New merchants are created by copying a migrated template schema instead of running
# every tenant migration (see tenants/provisioning.py and docs/decisions/).
TENANT_TEMPLATE_SCHEMA = env_str("TENANT_TEMPLATE_SCHEMA", "merchant_template")
# `migrate` skips merchants that are only applications (no schema until approval).
GET_EXECUTOR_FUNCTION = "tenants.migration.get_executor"

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    # First: a request that waited in the server's queue past the deadline is refused
    # before any work (core/deadline.py, config/gunicorn.py).
    "core.deadline.QueueDeadlineMiddleware",
    # Then: every log line of the request carries its id (core/logs.py).
    "core.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the front ends' static files (scan page JS/CSS) under gunicorn too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, session users and messages serve the admin; the APIs skip them.
    "api.cookies.SessionMiddleware",
    # The APIs' messages follow Accept-Language (the pages send their own language).
    "api.cookies.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "api.cookies.AuthenticationMiddleware",
    "accounts.middleware.BearerTokenMiddleware",
    "api.cookies.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A view that loses the database answers 503 SERVICE_UNAVAILABLE, not 500.
    "core.unavailable.DatabaseUnavailableMiddleware",
]

# Seconds a request may wait in the server's queue before it is refused with 503.
REQUEST_QUEUE_DEADLINE_SECONDS = env_float("REQUEST_QUEUE_DEADLINE_SECONDS", 10.0)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database ---------------------------------------------------------------------
DATABASES = {
    "default": parse_database_url(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loyalty")
    )
}
# A streaming replica for the catalogue, analytics and exports (core.db.replica).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = parse_database_url(DATABASE_REPLICA_URL)
    # A replica that does not answer is skipped, not waited for (core.db.replica).
    replica_options = DATABASES["replica"]["OPTIONS"]
    assert isinstance(replica_options, dict)
    replica_options.setdefault("connect_timeout", 2)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, rate limits, Celery -----------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "loyalty"),
            # A Redis that hangs (not one that is down: that refuses at once) must not
            # hang requests: claims and sign-in then fail closed (SERVICE_UNAVAILABLE).
            "OPTIONS": {
                "socket_connect_timeout": env_int("REDIS_TIMEOUT_SECONDS", 2),
                "socket_timeout": env_int("REDIS_TIMEOUT_SECONDS", 2),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL) or None
# With no broker (the demo on a bare machine) tasks run in-process, synchronously.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task killed with its worker is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes every database connection before and after each task unless told to
# reuse it: a webhook delivery spent a third of its CPU opening one (bench/claims.py).
# Kept for this many tasks, then closed (a broken one is replaced by Django as usual).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "expire-lots": {
        "task": "points.tasks.expire_lots",
        "schedule": env_int("LOT_EXPIRY_INTERVAL_SECONDS", 3600),
    },
    "analytics-rollup": {
        "task": "analytics.tasks.rollup",
        "schedule": env_int("ANALYTICS_ROLLUP_INTERVAL_SECONDS", 900),
    },
    "resume-stalled-batches": {
        "task": "campaigns.tasks.resume_stalled_batches",
        "schedule": 120,
    },
    "send-due-webhooks": {
        "task": "webhooks.tasks.send_due",
        "schedule": env_int("WEBHOOK_SWEEP_INTERVAL_SECONDS", 30),
    },
    "refresh-ways-to-earn": {
        "task": "earning.tasks.refresh_ways_to_earn",
        "schedule": env_int("WAYS_TO_EARN_REFRESH_SECONDS", 300),
    },
    "award-birthday-bonuses": {
        "task": "earning.tasks.award_birthday_bonuses",
        "schedule": env_int("BIRTHDAY_BONUS_INTERVAL_SECONDS", 3600),
    },
    "settle-pending-awards": {
        "task": "earning.tasks.settle_pending_awards",
        "schedule": env_int("PENDING_AWARD_SWEEP_INTERVAL_SECONDS", 3600),
    },
    "notify-expiring-points": {
        "task": "notifications.tasks.notify_expiring_points",
        "schedule": env_int("EXPIRY_NOTICE_INTERVAL_SECONDS", 3600),
    },
    # A prize campaign's seed periods (decision 0217): revealed within 10 minutes of the end.
    "rotate-prize-seeds": {
        "task": "campaigns.tasks.rotate_prize_seeds",
        "schedule": env_int("PRIZE_SEED_ROTATION_INTERVAL_SECONDS", 600),
    },
    "erase-due-accounts": {
        "task": "privacy.tasks.erase_due_accounts",
        "schedule": env_int("ERASURE_SWEEP_INTERVAL_SECONDS", 3600),
    },
    # The safety net of the dedicated drainer (manage.py drain_scan_events).
    "drain-scan-events": {
        "task": "campaigns.tasks.drain_scan_events",
        "schedule": env_int("SCAN_EVENTS_SWEEP_INTERVAL_SECONDS", 30),
    },
}
# Every scan recorded as an event (campaigns.scan.events); off only to measure its cost.
SCAN_EVENTS = env_bool("SCAN_EVENTS", True)
# Redis redelivers a task whose worker died without acknowledging it after this long.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)
}

# --- Authentication ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCESS_TOKEN_TTL_SECONDS = env_int("ACCESS_TOKEN_TTL_SECONDS", 15 * 60)
REFRESH_TOKEN_TTL_SECONDS = env_int("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)
# How long a process keeps a checked session while Redis reports every change to it
# (accounts/session_cache.py): the limit for a change made outside the application.
AUTH_SESSION_CACHE_SECONDS = env_int("AUTH_SESSION_CACHE_SECONDS", 30)

# One-time sign-in codes sent by SMS.
OTP_TTL_SECONDS = env_int("OTP_TTL_SECONDS", 5 * 60)
# PIPL art. 23: a consumer's first claim or answer with a merchant asks their consent to
# share their data with it (privacy/consent.py). Off only in tests that predate it.
MERCHANT_CONSENT_REQUIRED = env_bool("MERCHANT_CONSENT_REQUIRED", True)
# A deletion asked for is carried out after this many days, unless cancelled (0186).
ERASURE_COOLING_OFF_DAYS = env_int("ERASURE_COOLING_OFF_DAYS", 15)
# A data copy's file is deleted this long after it was built.
DATA_COPY_KEEP_HOURS = env_int("DATA_COPY_KEEP_HOURS", 24)
# A phone sign-in to an account unused this long makes a new account: the number may
# have a new owner (decision 0187).
PHONE_DORMANT_DAYS = env_int("PHONE_DORMANT_DAYS", 365)
OTP_MAX_ATTEMPTS = env_int("OTP_MAX_ATTEMPTS", 5)
OTP_RESEND_INTERVAL_SECONDS = env_int("OTP_RESEND_INTERVAL_SECONDS", 60)
OTP_MAX_PER_PHONE_PER_HOUR = env_int("OTP_MAX_PER_PHONE_PER_HOUR", 5)
OTP_MAX_PER_IP_PER_HOUR = env_int("OTP_MAX_PER_IP_PER_HOUR", 20)
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "CN")
# Self-service merchant sign-ups (applications), counted per IP address.
MERCHANT_SIGNUPS_PER_IP_PER_HOUR = env_int("MERCHANT_SIGNUPS_PER_IP_PER_HOUR", 10)
SMS_BACKEND = env_str("SMS_BACKEND", "accounts.sms.ConsoleSmsBackend")

# --- WeChat (docs/wechat.md) -----------------------------------------------------------
# Our own service account (服务号): consumers sign in with it on our pages. Empty: sign-in
# is by phone only.
WECHAT_APP_ID = env_str("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = env_str("WECHAT_APP_SECRET", "")
# Our third-party platform (开放平台第三方平台, "component"): merchants authorise their
# official accounts to it. Token and AES key are the message-check token and the
# EncodingAESKey set on the platform's page; empty: merchants cannot authorise.
WECHAT_COMPONENT_APP_ID = env_str("WECHAT_COMPONENT_APP_ID", "")
WECHAT_COMPONENT_APP_SECRET = env_str("WECHAT_COMPONENT_APP_SECRET", "")
WECHAT_COMPONENT_TOKEN = env_str("WECHAT_COMPONENT_TOKEN", "")
WECHAT_COMPONENT_AES_KEY = env_str("WECHAT_COMPONENT_AES_KEY", "")
# Where WeChat's servers are: the tests and the demo point these at the local fake.
WECHAT_API_BASE = env_str("WECHAT_API_BASE", "https://api.weixin.qq.com")
WECHAT_OPEN_BASE = env_str("WECHAT_OPEN_BASE", "https://open.weixin.qq.com")
# Where WeChat's authorisation page for merchants is (componentloginpage).
WECHAT_MP_BASE = env_str("WECHAT_MP_BASE", "https://mp.weixin.qq.com")
WECHAT_TIMEOUT_SECONDS = env_int("WECHAT_TIMEOUT_SECONDS", 5)
# Sign-ins with WeChat (OAuth callbacks and signInWithWeChat) per address and hour.
WECHAT_SIGNINS_PER_IP_PER_HOUR = env_int("WECHAT_SIGNINS_PER_IP_PER_HOUR", 60)
# Notices through our service account's template messages (docs/follow.md, "Notices"):
# the template ids chosen in its console; empty: that notice goes by SMS only.
WECHAT_TEMPLATE_POINTS_EXPIRING = env_str("WECHAT_TEMPLATE_POINTS_EXPIRING", "")
WECHAT_TEMPLATE_ORDER_SHIPPED = env_str("WECHAT_TEMPLATE_ORDER_SHIPPED", "")
# Template messages sent per second at most, all processes together (WeChat's limits).
WECHAT_NOTICES_PER_SECOND = env_int("WECHAT_NOTICES_PER_SECOND", 50)

# --- Webhooks (docs/webhooks.md) -------------------------------------------------
# Hosts that may be reached over plain http (development and tests only).
WEBHOOK_ALLOW_HTTP_HOSTS = env_list(
    "WEBHOOK_ALLOW_HTTP_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 16)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)
# Retries due sooner than this are queued with a Celery countdown; later ones are
# sent by the sweep (beat), which reads next_attempt_at from the database.
WEBHOOK_CELERY_RETRY_MAX_SECONDS = env_int("WEBHOOK_CELERY_RETRY_MAX_SECONDS", 300)
WEBHOOK_ENDPOINT_CACHE_SECONDS = env_int("WEBHOOK_ENDPOINT_CACHE_SECONDS", 5)
# A commit's event waits this long for others to share its relay run (decision 0328):
# under load one relay a while sends a batch, instead of a relay queued per commit.
WEBHOOK_RELAY_DELAY_SECONDS = env_float("WEBHOOK_RELAY_DELAY_SECONDS", 0.5)

# --- Consumer notifications ---------------------------------------------------------
# Points expiring within this many days are announced once by SMS.
EXPIRY_NOTICE_DAYS = env_int("EXPIRY_NOTICE_DAYS", 7)
# Dates in consumers' texts are written in this zone.
CONSUMER_TIME_ZONE = env_str("CONSUMER_TIME_ZONE", "Asia/Shanghai")

# --- GraphQL ----------------------------------------------------------------------
GRAPHENE = {"SCHEMA": "api.schema.consumer_schema"}
GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 10)
GRAPHQL_MAX_COST = env_int("GRAPHQL_MAX_COST", 5000)
GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES", 30)
GRAPHQL_MAX_BODY_BYTES = env_int("GRAPHQL_MAX_BODY_BYTES", 64 * 1024)
GRAPHQL_INTROSPECTION = env_bool("GRAPHQL_INTROSPECTION", True)
GRAPHIQL = DEBUG
# Largest page a connection serves (first/last); no list is unbounded.
GRAPHQL_MAX_PAGE_SIZE = env_int("GRAPHQL_MAX_PAGE_SIZE", 100)

# --- Email (staff invitations) --------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "no-reply@localhost")

# --- Points -----------------------------------------------------------------------
POINTS_DEFAULT_EXPIRY_DAYS = env_int("POINTS_DEFAULT_EXPIRY_DAYS", 365)

# --- Internationalisation ---------------------------------------------------------
# The platform's brand, shown as the admin's header; unset: "积分平台运营后台".
PLATFORM_NAME = env_str("PLATFORM_NAME", "")
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "UTC"
# The API's own messages (the apps' Python code); each front-end app keeps its page
# texts in its own locale/ folder.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Production (deploy/, and the demo): `collectstatic` writes hashed, compressed files
# into STATIC_ROOT and the pages name the hashed files, cached for a year (decision
# 0236; core/staticfiles.py). Off (tests, development): files are served straight from
# the apps under their own names, so an edited script shows on the next reload.
STATIC_HASHED = env_bool("STATIC_HASHED", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "core.staticfiles.HashedStaticFilesStorage"
        if STATIC_HASHED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", not STATIC_HASHED)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# One JSON object a line with the request's id (core/logs.py), or plain text to read
# in a terminal (the development default).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "core.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)

# --- Error reports (docs/operations.md) -------------------------------------------
# Sentry, off unless SENTRY_DSN is set: started here so that the web processes,
# management commands and Celery workers all report (core/observability.py; traces
# start in config.wsgi/asgi and config.celery).
from core.observability import init_sentry  # noqa: E402

SENTRY_ENABLED = init_sentry()

"""Settings for the test suite: the real PostgreSQL and Redis, test doubles only for SMS.

Defaults point at this machine's services (127.0.0.1:5432 trust, 127.0.0.1:6379);
set DATABASE_URL / REDIS_URL to use others.
"""

import os
import uuid
from urllib.parse import urlparse, urlunparse

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
# A queue of this run's own, so that two runs sharing one Redis never take each
# other's tasks; the worker started by the tests inherits it.
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"test-{uuid.uuid4().hex[:12]}")
os.environ.setdefault("CACHE_KEY_PREFIX", "loyalty-test")
# The broker and results in another Redis database than the cache: every test clears
# the cache (tests/fixtures/tenants.py), and Django's RedisCache.clear() is FLUSHDB,
# which would also delete queued tasks and results, this run's or a concurrent run's.
# (So a REDIS_URL of your own must not name database 2.)
os.environ.setdefault(
    "CELERY_BROKER_URL", urlunparse(urlparse(os.environ["REDIS_URL"])._replace(path="/2"))
)
os.environ.setdefault("CELERY_RESULT_BACKEND", os.environ["CELERY_BROKER_URL"])
# Webhooks to the tests' local servers over http, retried within seconds (the worker
# process started by the tests reads the same values).
os.environ.setdefault("WEBHOOK_ALLOW_HTTP_HOSTS", "127.0.0.1")
os.environ.setdefault("WEBHOOK_RETRY_BASE_SECONDS", "1")
os.environ.setdefault("WEBHOOK_RETRY_MAX_SECONDS", "2")
os.environ.setdefault("WEBHOOK_MAX_ATTEMPTS", "30")
os.environ.setdefault("WEBHOOK_TIMEOUT_SECONDS", "3")

from config.settings import *  # noqa: F403

# Memory by default; the browser tests' server process prints codes (console backend).
SMS_BACKEND = env_str("SMS_BACKEND", "accounts.sms.MemorySmsBackend")  # noqa: F405
# Fast hashing: password strength is Django's concern, not what these tests prove.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run eagerly unless a test starts a real worker (celery_worker in
# tests/fixtures/processes.py), which runs these settings with CELERY_TASK_ALWAYS_EAGER=0.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)  # noqa: F405
# The suite's claims and answers predate the per-merchant consent (PIPL): it is asked
# only where a test turns it on (privacy/tests, settings.MERCHANT_CONSENT_REQUIRED).
MERCHANT_CONSENT_REQUIRED = env_bool("MERCHANT_CONSENT_REQUIRED", False)  # noqa: F405
SECURE_COOKIES = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_CODE = "en"
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405

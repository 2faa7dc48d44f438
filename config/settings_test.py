"""Settings for the test suite: the real PostgreSQL and Redis, test doubles only for SMS.

Defaults point at this machine's services (127.0.0.1:5432 trust, 127.0.0.1:6379);
set DATABASE_URL / REDIS_URL to use others.
"""

import os

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("CACHE_KEY_PREFIX", "loyalty-test")

from config.settings import *  # noqa: F403

SMS_BACKEND = "accounts.sms.MemorySmsBackend"
# Fast hashing: password strength is Django's concern, not what these tests prove.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run eagerly unless a test starts a real worker (tests/conftest.py: celery_worker).
CELERY_TASK_ALWAYS_EAGER = True
SECURE_COOKIES = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_CODE = "en"
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405

"""Test settings: the base settings with fast, deterministic parts.

CI sets DATABASE_URL to PostgreSQL (the production engine); without it tests run on SQLite.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "botwright-test-key")

from .base import *  # noqa: E402,F403
from .base import MIDDLEWARE, REST_FRAMEWORK  # noqa: E402

# Fast hashing for made-up users; bcrypt after it, as in base.py, for passwords imported from Supabase.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "importers.hashers.ImportedBCryptPasswordHasher",
]
EMBEDDER = "fake"
LLM_PROVIDER = "extractive"
DOCUMENT_PROCESSING = "sync"
VECTOR_STORE = "database"
STORAGE_BACKEND = "local"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CognitoJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
MIDDLEWARE = [m for m in MIDDLEWARE if "whitenoise" not in m]
# Tests sign in (and fail to) many times; the lockout tests turn django-axes on themselves.
AXES_ENABLED = False

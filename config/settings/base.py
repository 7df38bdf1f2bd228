"""Botwright settings: one module configured entirely by environment variables.

Every default is the embedded, account-free choice (SQLite, local files, vectors in the database,
offline MiniLM, extractive answers). Production differs only by environment; values production
cannot run without are checked at start-up (see ``_require_production_values``).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from integrations.choices import EMBEDDERS, LLM_PROVIDERS, VECTOR_QUANTIZATIONS, VECTOR_STORES

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# The one place that keeps Hugging Face libraries from downloading anything: every Django process
# (manage.py, WSGI, Lambda, pytest) loads these settings before it imports an embedder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """A setting with a fixed set of values, read case-insensitively: a typo fails start-up, not the
    first upload or question that would have used it."""
    value = env.str(name, default=default).strip().lower()
    if value not in choices:
        shown = ", ".join(repr(c) if c else "'' (empty)" for c in choices)
        raise ImproperlyConfigured(f"{name} must be one of {shown}; got {value!r}.")
    return value


# --- Core ------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
_DEV_SECRET = "botwright-insecure-development-key-change-me"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Set on Lambda (Zappa sets it) or explicitly: turns on the production start-up checks.
IS_PRODUCTION = env.bool("BOTWRIGHT_PRODUCTION", default=bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "tenants",
    "bots",
    "documents",
    "chat",
    "analytics",
    "integrations",
    "importers",
    "evaluation",
]

MIDDLEWARE = [
    "config.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF: its process_view reads form bodies, so the size check must come first.
    "config.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out admin login into its 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "accounts.context_processors.cognito",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# On Lambda one container serves one request at a time; keeping the connection across
# invocations saves the TCP+TLS handshake, and health checks drop a connection RDS closed.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite takes one writer at a time; these options make a second writer wait its turn instead of
    # failing with "database is locked":
    # - transaction_mode IMMEDIATE: every transaction takes the write lock when it begins. SQLite's
    #   default (DEFERRED) upgrades a read to a write mid-transaction, and that upgrade fails at once,
    #   without waiting, when another connection wrote meanwhile.
    # - timeout (the busy timeout, seconds): how long a writer waits for the lock before giving up.
    #   Document processing retries what still fails after that (DOCUMENT_RETRY_*).
    # - WAL lets readers read while one connection writes; NORMAL sync is safe with WAL (a power cut
    #   can lose the last commits, never corrupt) and saves an fsync per commit.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=env.float("SQLITE_BUSY_TIMEOUT_S", default=20.0),
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )

# Django's defaults first (new passwords and upgrades use PBKDF2); the plain bcrypt hasher last so
# that bcrypt hashes imported from Supabase Auth verify and are re-hashed on first sign-in.
PASSWORD_HASHERS = [*global_settings.PASSWORD_HASHERS, "importers.hashers.ImportedBCryptPasswordHasher"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (admin, Swagger UI) served by WhiteNoise, also on Lambda -----------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGE_BACKEND = _choice("STORAGE_BACKEND", "local", ("local", "s3"))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="") or None
AWS_REGION = env.str("AWS_REGION", default=os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"))
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": AWS_REGION,
            "endpoint_url": AWS_ENDPOINT_URL,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "config.static.StaticFilesStorage"},
}

# --- API -------------------------------------------------------------------------------------
COGNITO_REGION = env.str("COGNITO_REGION", default=AWS_REGION)
COGNITO_USER_POOL_ID = env.str("COGNITO_USER_POOL_ID", default="")
COGNITO_APP_CLIENT_ID = env.str("COGNITO_APP_CLIENT_ID", default="")
COGNITO_APP_CLIENT_SECRET = env.str("COGNITO_APP_CLIENT_SECRET", default="")
COGNITO_DOMAIN = env.str("COGNITO_DOMAIN", default="")
_cognito_base = f"https://cognito-idp.{COGNITO_REGION}.amazonaws.com/{COGNITO_USER_POOL_ID}"
COGNITO_ISSUER = env.str("COGNITO_ISSUER", default=_cognito_base if COGNITO_USER_POOL_ID else "")
COGNITO_JWKS_URL = env.str(
    "COGNITO_JWKS_URL", default=f"{_cognito_base}/.well-known/jwks.json" if COGNITO_USER_POOL_ID else ""
)
COGNITO_ENABLED = bool(COGNITO_USER_POOL_ID and COGNITO_APP_CLIENT_ID)
# Browser and admin sign-in through Cognito's hosted UI (authorization code flow) when a domain is
# configured; local password login stays available beside it.
COGNITO_HOSTED_UI = bool(COGNITO_ENABLED and COGNITO_DOMAIN)
# django-axes goes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# URL names, not paths: behind API Gateway's execute-api URL a literal path loses the stage prefix.
LOGIN_REDIRECT_URL = env.str("LOGIN_REDIRECT_URL", default="admin:index")
LOGOUT_REDIRECT_URL = env.str("LOGOUT_REDIRECT_URL", default="admin:index")
if COGNITO_HOSTED_UI:
    from accounts.cognito import oidc_settings_from_env

    # mozilla-django-oidc's settings, each name written out so that grep finds where it is set.
    _oidc = oidc_settings_from_env(
        COGNITO_REGION, COGNITO_USER_POOL_ID, COGNITO_DOMAIN, COGNITO_APP_CLIENT_ID, COGNITO_APP_CLIENT_SECRET
    )
    OIDC_OP_AUTHORIZATION_ENDPOINT = _oidc["OIDC_OP_AUTHORIZATION_ENDPOINT"]
    OIDC_OP_TOKEN_ENDPOINT = _oidc["OIDC_OP_TOKEN_ENDPOINT"]
    OIDC_OP_USER_ENDPOINT = _oidc["OIDC_OP_USER_ENDPOINT"]
    OIDC_OP_JWKS_ENDPOINT = _oidc["OIDC_OP_JWKS_ENDPOINT"]
    OIDC_OP_LOGOUT_URL_METHOD = _oidc["OIDC_OP_LOGOUT_URL_METHOD"]
    OIDC_RP_CLIENT_ID = _oidc["OIDC_RP_CLIENT_ID"]
    OIDC_RP_CLIENT_SECRET = _oidc["OIDC_RP_CLIENT_SECRET"]
    OIDC_RP_SIGN_ALGO = _oidc["OIDC_RP_SIGN_ALGO"]
    OIDC_RP_SCOPES = _oidc["OIDC_RP_SCOPES"]
    OIDC_TOKEN_USE_BASIC_AUTH = _oidc["OIDC_TOKEN_USE_BASIC_AUTH"]
    OIDC_USE_PKCE = _oidc["OIDC_USE_PKCE"]
    OIDC_TIMEOUT = _oidc["OIDC_TIMEOUT"]
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.insert(1, "accounts.oidc.CognitoOIDCBackend")
    # A refused sign-in (unverified email, an account bound to another identity) returns to the
    # login page, which shows why; a URL name keeps API Gateway's stage prefix.
    from django.urls import reverse_lazy

    LOGIN_REDIRECT_URL_FAILURE = reverse_lazy("admin:login")
# The Cognito attribute that carries an imported user's source id (User Migration trigger and
# `import_supabase --cognito`); the pool must define it. Empty: not sent.
COGNITO_SOURCE_ID_ATTRIBUTE = env.str("COGNITO_SOURCE_ID_ATTRIBUTE", default="custom:source_id")
# HTTP Basic is a convenience for the local default (curl -u). Production uses Cognito tokens: there
# Basic stays off unless BASIC_AUTH_ENABLED=true says otherwise, Cognito configured or not.
BASIC_AUTH_ENABLED = env.bool("BASIC_AUTH_ENABLED", default=not COGNITO_ENABLED and not IS_PRODUCTION)

# Password sign-in throttling (django-axes) for the admin login, HTTP Basic and the hosted-UI
# callback: after AXES_FAILURE_LIMIT failures one client address is refused for that account
# (429 with Retry-After) until AXES_COOLOFF_MINUTES pass without another failure. Counting the
# address and the account together means nobody can lock an account from elsewhere. The address
# is the one the rate limits trust (tenants.client_ip, TRUSTED_PROXY_COUNT): on Lambda API
# Gateway's source IP — not Zappa's REMOTE_ADDR, which it takes from X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.lockout_client_ip"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_COOLOFF_MESSAGE = (
    "Too many failed sign-in attempts for this account from your address. Try again later, or ask "
    "an operator to unlock it (admin → Axes → Access attempts)."
)

_auth_classes = [
    "accounts.authentication.CognitoJWTAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]
if BASIC_AUTH_ENABLED:
    _auth_classes.append("rest_framework.authentication.BasicAuthentication")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": _auth_classes,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "api.exception_handlers.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Botwright API",
    "DESCRIPTION": "Multi-tenant knowledge-base chatbots: organisations, bots, documents, chat, analytics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: a nullable nested object is `oneOf: [$ref, null]`, which validators and client generators
    # read alike (3.0's `nullable` beside `allOf` is read two ways).
    "OAS_VERSION": "3.1.0",
    "ENUM_NAME_OVERRIDES": {
        "UnansweredStatusEnum": "analytics.models.UnansweredStatus",
        "EvaluationStatusEnum": "evaluation.models.EvaluationStatus",
    },
}
API_VERSION = "1"

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
# The public chat endpoints answer CORS themselves, per bot (allowed_origins); django-cors-headers
# only serves the builder's origins on the rest of the API.
CORS_URLS_REGEX = r"^/api/(?!public/).*$"
CORS_ALLOW_CREDENTIALS = True

# --- Accounts / invitations ------------------------------------------------------------------
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
DEMO_ADMIN_EMAIL = env.str("DEMO_ADMIN_EMAIL", default="admin@example.com")
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="")

# --- Quotas (tenants.quotas) -----------------------------------------------------------------
# What every organisation may hold and spend unless an operator overrides it on the organisation's
# admin page. 0 means unlimited (here and in an override); an empty override means "this default".
# Monthly quotas count the calendar month in UTC. Change any of them with QUOTA_DEFAULTS_JSON,
# e.g. '{"documents": 200, "tokens_per_month": 0}'; unknown names and negative or non-integer values
# fail start-up.
QUOTA_DEFAULTS_BUILTIN = {
    "bots": 50,
    "documents": 1000,
    "storage_bytes": 5 * 1024**3,
    "chunks": 500_000,
    "messages_per_month": 100_000,
    "tokens_per_month": 50_000_000,
}


def _quota_defaults(overrides: object) -> dict[str, int]:
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured("QUOTA_DEFAULTS_JSON must be a JSON object of quota name to limit.")
    unknown = sorted(set(overrides) - set(QUOTA_DEFAULTS_BUILTIN))
    if unknown:
        raise ImproperlyConfigured(
            f"QUOTA_DEFAULTS_JSON names unknown quotas {unknown}; "
            f"the quotas are {', '.join(QUOTA_DEFAULTS_BUILTIN)}."
        )
    merged = {**QUOTA_DEFAULTS_BUILTIN, **overrides}
    for name, value in merged.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ImproperlyConfigured(
                f"The {name} quota must be a whole number, 0 or more (0 = unlimited); got {value!r}."
            )
    return merged


QUOTA_DEFAULTS = _quota_defaults(env.json("QUOTA_DEFAULTS_JSON", default={}))

# --- Knowledge base --------------------------------------------------------------------------
VECTOR_STORE = _choice("VECTOR_STORE", "database", VECTOR_STORES)
DYNAMODB_VECTORS_TABLE = env.str("DYNAMODB_VECTORS_TABLE", default="botwright-vectors")
DYNAMODB_VECTOR_QUANTIZATION = _choice("DYNAMODB_VECTOR_QUANTIZATION", "float32", VECTOR_QUANTIZATIONS)
# Bots with at least this many live chunks search DynamoDB's native vector index (approximate) when
# the table has one; unset = always exact search over the bot's partition.
DYNAMODB_VECTOR_INDEX_THRESHOLD = env.int("DYNAMODB_VECTOR_INDEX_THRESHOLD", default=None)
# Bytes of decoded vector matrices a process (a Lambda container) keeps between queries, least recently
# used bots evicted first; 0 reads every query from the store.
VECTOR_CACHE_MAX_BYTES = env.int("VECTOR_CACHE_MAX_BYTES", default=256 * 1024 * 1024)
EMBEDDER = _choice("EMBEDDER", "minilm", EMBEDDERS)
ONNX_MODEL_DIR = env.str("ONNX_MODEL_DIR", default=str(BASE_DIR / "build" / "minilm-onnx"))
GEMINI_EMBEDDING_MODEL = env.str("GEMINI_EMBEDDING_MODEL", default="gemini-embedding-001")
GEMINI_EMBEDDING_DIM = env.int("GEMINI_EMBEDDING_DIM", default=384)
DOCUMENT_MAX_UPLOAD_BYTES = env.int("DOCUMENT_MAX_UPLOAD_BYTES", default=25 * 1024 * 1024)
DOCUMENT_MAX_PAGES = env.int("DOCUMENT_MAX_PAGES", default=2000)
DOCUMENT_EXTRACT_TIMEOUT_S = env.float("DOCUMENT_EXTRACT_TIMEOUT_S", default=120.0)
DOCUMENT_PROCESSING = _choice("DOCUMENT_PROCESSING", "thread", ("sync", "thread", "zappa"))
DOCUMENT_STUCK_AFTER_S = env.int("DOCUMENT_STUCK_AFTER_S", default=900)
DOCUMENT_MAX_ATTEMPTS = env.int("DOCUMENT_MAX_ATTEMPTS", default=3)
# Transient errors (a locked or unreachable database, storage or vector store, a throttled provider)
# are retried this many times per step, waiting BACKOFF_S, then twice as long each time (with jitter,
# at most 30 s); a document that still cannot be processed goes back to pending, never to failed.
DOCUMENT_RETRY_ATTEMPTS = env.int("DOCUMENT_RETRY_ATTEMPTS", default=5)
DOCUMENT_RETRY_BACKOFF_S = env.float("DOCUMENT_RETRY_BACKOFF_S", default=0.5)
# The local worker (DOCUMENT_PROCESSING=thread): this many threads, taking documents in turn per org,
# then per bot; files of at least DOCUMENT_LARGE_BYTES may occupy all threads but one, so small files
# never wait behind large ones. It runs the stuck-document sweep at start-up and every SWEEP_INTERVAL_S.
DOCUMENT_WORKERS = env.int("DOCUMENT_WORKERS", default=2)
DOCUMENT_LARGE_BYTES = env.int("DOCUMENT_LARGE_BYTES", default=1024 * 1024)
DOCUMENT_SWEEP_INTERVAL_S = env.float("DOCUMENT_SWEEP_INTERVAL_S", default=300.0)
DIRECT_UPLOAD_MAX_BYTES = env.int("DIRECT_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
# Every request body is refused above this size before it is read (config.middleware.
# RequestBodyLimitMiddleware, 413); only upload routes (documents) allow DOCUMENT_MAX_UPLOAD_BYTES.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=1024 * 1024)
# Django's own guard on form data read into memory; the middleware above refuses first.
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The first handler counts what is received and stops a multipart body past the route's limit.
FILE_UPLOAD_HANDLERS = [
    "config.middleware.BodyLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Chat ------------------------------------------------------------------------------------
# Empty: gemini when GEMINI_API_KEY is set, else the offline extractive answerer.
LLM_PROVIDER = _choice("LLM_PROVIDER", "", ("", *LLM_PROVIDERS))
GEMINI_API_KEY = env.str("GEMINI_API_KEY", default="")
GEMINI_MODEL = env.str("GEMINI_MODEL", default="gemini-2.5-flash")
# The models a bot may name (the operator's key pays for them); the default model is always allowed.
GEMINI_ALLOWED_MODELS = env.list(
    "GEMINI_ALLOWED_MODELS", default=["gemini-2.5-flash", "gemini-2.5-flash-lite"]
)
if GEMINI_MODEL not in GEMINI_ALLOWED_MODELS:
    GEMINI_ALLOWED_MODELS.append(GEMINI_MODEL)
GEMINI_TIMEOUT_S = env.float("GEMINI_TIMEOUT_S", default=20.0)  # under API Gateway's 29 s
GEMINI_BASE_URL = env.str("GEMINI_BASE_URL", default="")
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=4000)
# A bot's widget avatar (PNG, JPEG, WebP or GIF, at most 1024 px a side): shown at 34 px.
BOT_AVATAR_MAX_BYTES = env.int("BOT_AVATAR_MAX_BYTES", default=256 * 1024)
CHAT_HISTORY_TOKEN_BUDGET = env.int("CHAT_HISTORY_TOKEN_BUDGET", default=1500)
# Public channel: per visitor token, per client IP (looser, so an office behind one address can
# chat), then per bot; only requests that pass the first two count against the bot's budget.
PUBLIC_CHAT_RATE_VISITOR = env.str("PUBLIC_CHAT_RATE_VISITOR", default="20/minute")
PUBLIC_CHAT_RATE_IP = env.str("PUBLIC_CHAT_RATE_IP", default="100/minute")
PUBLIC_CHAT_RATE_BOT = env.str("PUBLIC_CHAT_RATE_BOT", default="300/minute")
# Signed-in members (builder chat and search) and bot API keys, each counted per user / per key.
MEMBER_CHAT_RATE = env.str("MEMBER_CHAT_RATE", default="60/minute")
API_KEY_CHAT_RATE = env.str("API_KEY_CHAT_RATE", default="120/minute")

# --- Evaluation (golden questions per bot) ----------------------------------------------------
# An evaluation runs inline in the request: each question costs a search and an answer.
EVALUATION_MAX_QUESTIONS = env.int("EVALUATION_MAX_QUESTIONS", default=200)
# A CSV/JSONL import of golden questions (kept under REQUEST_MAX_BODY_BYTES with the multipart framing).
EVALUATION_IMPORT_MAX_BYTES = env.int("EVALUATION_IMPORT_MAX_BYTES", default=512 * 1024)
# Evaluations of one bot through the API (each asks every golden question): 429 past it.
EVALUATION_RATE = env.str("EVALUATION_RATE", default="6/minute")

# --- Analytics -------------------------------------------------------------------------------
# List prices (USD per million tokens; DynamoDB per million on-demand read request units) used for
# the *estimated* cost in the usage API and the rollup. Paid-tier Gemini API prices for prompts up to
# 200k tokens and DynamoDB on-demand in us-east-1, as listed in 2025. Override the whole table with
# ANALYTICS_PRICES_JSON (same shape) when prices change or you have negotiated ones.
ANALYTICS_PRICES = env.json(
    "ANALYTICS_PRICES_JSON",
    default={
        "models": {
            "gemini-2.5-pro": {"input": "1.25", "output": "10.00"},
            "gemini-2.5-flash": {"input": "0.30", "output": "2.50"},
            "gemini-2.5-flash-lite": {"input": "0.10", "output": "0.40"},
            "gemini-2.0-flash": {"input": "0.10", "output": "0.40"},
            "gemini-2.0-flash-lite": {"input": "0.075", "output": "0.30"},
        },
        "embeddings": {"gemini-embedding-001": "0.15"},
        "dynamodb_read_request_units": "0.125",
    },
)
# The QuickSight/Athena feed (manage.py export_analytics): bucket, key prefix, Glue database name,
# how long daily files are kept (an S3 lifecycle rule that bootstrap_aws sets) and the first day
# Athena's partition projection covers.
ANALYTICS_BUCKET = env.str("ANALYTICS_BUCKET", default="") or AWS_STORAGE_BUCKET_NAME
ANALYTICS_PREFIX = env.str("ANALYTICS_PREFIX", default="analytics").strip("/")
ANALYTICS_ATHENA_DATABASE = env.str("ANALYTICS_ATHENA_DATABASE", default="botwright_analytics")
ANALYTICS_RETENTION_DAYS = env.int("ANALYTICS_RETENTION_DAYS", default=730)
ANALYTICS_FEED_START = env.str("ANALYTICS_FEED_START", default="2025-01-01")
# Unanswered questions: near-duplicates are merged by embedding cosine only with a local embedder
# (no per-call cost) and for at most this many distinct questions per request.
ANALYTICS_NEAR_DUPLICATE_MAX = env.int("ANALYTICS_NEAR_DUPLICATE_MAX", default=300)

# `manage.py aws_usage_report`: AWS free-tier allowances per month and list prices (USD per unit:
# per request, GB-second, read/write request unit, GB-month, instance hour, MAU), us-east-1 as listed
# in 2025 — Lambda x86, API Gateway REST, DynamoDB on-demand, S3 Standard, RDS db.t4g.micro
# single-AZ gp2, Cognito Essentials. The 12-month free tier (API Gateway, S3, RDS) applies to new
# accounts only. "assumptions" are the estimate's model (analytics/aws_costs.py). Override any entry
# with AWS_USAGE_TABLE_JSON, e.g. {"prices": {"rds_instance_hours": 0.034}}: sections are merged.
AWS_USAGE_TABLE = {
    "free_tier": {
        "lambda_requests": 1_000_000,
        "lambda_gb_seconds": 400_000,
        "api_gateway_requests": 1_000_000,
        "dynamodb_read_units": 0,  # on-demand has none; the 25 RCU/WCU are provisioned capacity
        "dynamodb_write_units": 0,
        "dynamodb_storage_gb": 25,
        "s3_storage_gb": 5,
        "s3_put_requests": 2_000,
        "s3_get_requests": 20_000,
        "rds_instance_hours": 750,
        "rds_storage_gb": 20,
        "cognito_mau": 10_000,
    },
    "prices": {
        "lambda_requests": 0.20 / 1e6,
        "lambda_gb_seconds": 0.0000166667,
        "api_gateway_requests": 3.50 / 1e6,
        "dynamodb_read_units": 0.125 / 1e6,
        "dynamodb_write_units": 0.625 / 1e6,
        "dynamodb_storage_gb": 0.25,
        "s3_storage_gb": 0.023,
        "s3_put_requests": 0.005 / 1000,
        "s3_get_requests": 0.0004 / 1000,
        "rds_instance_hours": 0.016,
        "rds_storage_gb": 0.115,
        "cognito_mau": 0.015,
    },
    "assumptions": {
        "warn_ratio": 0.8,  # flag a line "near limit" from this share of its allowance
        "api_calls_per_upload": 1,
        "scheduled_invocation_s": 2.0,
        "vector_dim": 384,  # MiniLM; float32 vectors
        "item_overhead_bytes": 150,  # keys and attribute names of a chunk's DynamoDB item
        "min_memory_mb": 1024,  # the embedding model, numpy and Django resident
        "processing_timeout_share": 0.5,  # document processing p95 must fit this share of the timeout
    },
}
for _section, _values in env.json("AWS_USAGE_TABLE_JSON", default={}).items():
    AWS_USAGE_TABLE.setdefault(_section, {}).update(_values)

# --- Caches ----------------------------------------------------------------------------------
# The database cache is shared by every process and Lambda container; its table is created by a
# migration (integrations/migrations), so `migrate` alone prepares it. Rate limits do not use it:
# they count in their own table (chat.RateCounter, see chat/ratelimit.py).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "botwright_cache",
    }
}

# --- Security --------------------------------------------------------------------------------
# API Gateway terminates TLS and forwards the scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG and IS_PRODUCTION
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=IS_PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Per-dependency time bound of /api/health/ (the deep embedding check gets 20x): a hung dependency
# answers "timed out" instead of holding the request.
HEALTH_CHECK_TIMEOUT_S = env.float("HEALTH_CHECK_TIMEOUT_S", default=3.0)

# Application metrics as CloudWatch Embedded Metric Format lines in the log (integrations.metrics):
# CloudWatch Logs extracts them, no API call on the request path. Off locally; the Zappa stages set
# METRICS_EMF=true and METRICS_STAGE. The stage is the only dimension besides the channel.
METRICS_EMF = env.bool("METRICS_EMF", default=False)
METRICS_NAMESPACE = env.str("METRICS_NAMESPACE", default="Botwright")
METRICS_STAGE = env.str("METRICS_STAGE", default="local")
# `bootstrap_aws --monitoring`: the stage's function name, memory and timeout come from this file; the
# alarm topic's email subscription, the RDS instance to watch ("" = no RDS alarms) and the alarm
# thresholds (keys of integrations.aws_monitoring.Thresholds, e.g. {"unanswered_rate": 0.3}).
ZAPPA_SETTINGS_PATH = Path(env.str("ZAPPA_SETTINGS_PATH", default=str(BASE_DIR / "zappa_settings.json")))
MONITORING_ALARM_EMAIL = env.str("MONITORING_ALARM_EMAIL", default="")
MONITORING_RDS_INSTANCE = env.str("MONITORING_RDS_INSTANCE", default="")
MONITORING_THRESHOLDS = env.json("MONITORING_THRESHOLDS_JSON", default={})

REQUEST_LOG_CLIENT_IP = env.bool("REQUEST_LOG_CLIENT_IP", default=False)
# How many proxies we run in front of Django that append the client's address to X-Forwarded-For
# (counted from the right; see tenants.client_ip). 0 = trust no header: REMOTE_ADDR, or on
# Lambda API Gateway's requestContext source IP. Rate limits key on this address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more, not {TRUSTED_PROXY_COUNT}.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        # EMF lines are complete JSON objects already: printed as they are, nothing wrapped around.
        "raw": {"format": "%(message)s"},
    },
    # JSON lines for CloudWatch Logs Insights in production; readable lines on a laptop.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _choice("LOG_FORMAT", "json" if IS_PRODUCTION else "plain", ("json", "plain")),
        },
        "metrics": {"class": "logging.StreamHandler", "formatter": "raw", "stream": "ext://sys.stdout"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Zappa's access line carries client IPs and full query strings (visitor ids): ours replaces it.
        "zappa.wsgi": {"level": "WARNING"},
        "botwright.metrics": {"handlers": ["metrics"], "level": "INFO", "propagate": False},
    },
}


def _require_production_values() -> None:
    """Fail loudly at start-up when production would run on development defaults."""
    missing = []
    if SECRET_KEY == _DEV_SECRET:
        missing.append("DJANGO_SECRET_KEY")
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        missing.append("DATABASE_URL (PostgreSQL)")
    if STORAGE_BACKEND == "s3" and not AWS_STORAGE_BUCKET_NAME:
        missing.append("AWS_STORAGE_BUCKET_NAME")
    if missing:
        raise ImproperlyConfigured("Production start-up refused; set: " + ", ".join(missing))


if IS_PRODUCTION:
    _require_production_values()

"""Django settings, all from the environment (the table: docs/configuration.md)."""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from election.ingest import config as edge
from election.ingest.async_batcher import DEFAULT_MAX_PENDING
from election.lib.env import env_bool, env_float, env_int, env_list, env_str
from election.observability import logs

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ESCRUTINIO_VAR_DIR", str(BASE_DIR / "var")))


def _dev_secret_key() -> str:
    """A random key kept in var/ for a local run, so its processes share it across restarts."""
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not env_bool("ESCRUTINIO_DEV", False):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it (production), or set DJANGO_DEBUG=1 or "
            "ESCRUTINIO_DEV=1 for a local run with a throwaway key."
        )
    SECRET_KEY = _dev_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# --- HTTPS and cookies (`manage.py check --deploy`) ---------------------------
# Production defaults are the safe ones; the local run (ESCRUTINIO_DEV=1: make run, make
# test, compose) relaxes them, since it speaks plain HTTP. Each can be set on its own.
DEV = env_bool("ESCRUTINIO_DEV", False)
# TLS ends at the ingress, which tells Django the original scheme in this header. Trust it
# only behind a proxy that sets (or strips) it; empty turns it off.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO", empty_is_default=False)
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEV)
# The kubelet probes and Prometheus scrape the pod directly over HTTP: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEV else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEV)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEV)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEV)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEV)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "election",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files and the dashboard's bundles, before anything else touches the request.
    "election.api.dashboard.DashboardWhiteNoise",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "election.urls"
WSGI_APPLICATION = "election.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'escrutinio.sqlite3'}")
_db = dj_database_url.parse(
    DATABASE_URL,
    conn_max_age=env_int("CONN_MAX_AGE", 60),
    conn_health_checks=True,
)
if _db["ENGINE"] == "django.db.backends.mysql":
    # MariaDB ends a statement that runs longer (error 1969): 0, none. The API's Procfile line
    # sets it, so a slow read, or one whose client went away, does not run on in the database
    # both routes write to; the API answers 503 (election/api/views.py).
    _statement_timeout_ms = env_int("DB_STATEMENT_TIMEOUT_MS", 0)
    _db["OPTIONS"] = {
        "charset": "utf8mb4",
        # READ COMMITTED: concurrent batches touching the same tally rows take no gap locks,
        # so group commits from both routes do not deadlock each other.
        "isolation_level": "read committed",
        # Strict mode: an over-long or malformed value is an error, never silently truncated.
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'"
        + (f", max_statement_time={_statement_timeout_ms / 1000}" if _statement_timeout_ms > 0 else ""),
        "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5),
        # A reply that never comes (a server frozen, a network partition without a reset)
        # fails the call instead of holding its thread forever: the gRPC server's and the
        # worker's committers then answer UNAVAILABLE / retry. Far above any normal query.
        "read_timeout": env_int("DB_READ_TIMEOUT", 60),
        "write_timeout": env_int("DB_WRITE_TIMEOUT", 60),
    }
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and IMMEDIATE transactions let the gRPC server, the Celery worker and the API
    # share the embedded database without "database is locked" errors.
    _db["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# --- Celery: the Redis route's queue (election/celery.py, ingest_pubsub/tasks.py) ------
# Why each of these is set as it is (no vote lost nor counted twice): docs/reliability.md#the-celery-worker.
# A Redis with AOF on: a message is durable once LPUSH has answered, when the publisher answers 202.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_IMPORTS = ("ingest_pubsub.tasks", "ingest_pubsub.acta_tasks")  # by name: election/ imports no route
CELERY_TASK_ROUTES = {"escrutinio.votes.*": {"queue": "votes"}, "escrutinio.actas.*": {"queue": "actas"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # the outcome is in MySQL; no result backend to keep up
CELERY_TASK_ACKS_LATE = True  # acknowledged once its votes are stored, requeued or parked
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # a prefork child killed requeues its message
# Prefork pool only: the threads pool the Procfile runs cannot stop a task.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120)
# Messages each process reserves ahead, times the concurrency: unacknowledged while reserved.
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_PREFETCH_MULTIPLIER", 4)
# Threads of each worker process (the Procfile's `--pool threads`); they share its committer.
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 32)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON logging configured below
# Celery's Django integration closes the database connection before and after every task
# unless this is set: a new MySQL connection per batch cost 13% of the worker's time (py-spy).
# Reused for this many tasks; a broken one is closed by votes_record and the batch retried.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# Redelivered anyway (acks_late), so a task cut off from the broker is cancelled, not finished twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message unacknowledged this long is put back on the queue (its worker died).
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
    # How often every worker sweeps for such messages: every interval x throttle seconds.
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": env_int("CELERY_UNACKED_RESTORE_THROTTLE", 1),
    # Fail fast instead of hanging when Redis is away: the publisher answers 503 and the
    # client retries with the same vote_id. Above kombu's 1 s BRPOP timeout.
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
}
# A batch the database or the catalogue cannot take now: retried with backoff, then parked.
VOTES_TASK_MAX_RETRIES = env_int("VOTES_TASK_MAX_RETRIES", 30)
VOTES_TASK_RETRY_BACKOFF_MAX = env_int("VOTES_TASK_RETRY_BACKOFF_MAX", 60)
# The secret the publisher signs each queued vote with and the worker checks (HMAC-SHA256,
# ingest_pubsub/messages.py): whoever reaches the broker cannot queue a vote without it.
# Required by those two processes only (they refuse to start without it); a local run
# derives one from SECRET_KEY, so its publisher and workers agree.
VOTE_QUEUE_KEY = env_str("VOTE_QUEUE_KEY")
if not VOTE_QUEUE_KEY and (DEBUG or DEV):
    VOTE_QUEUE_KEY = hmac.new(SECRET_KEY.encode(), b"escrutinio vote queue", "sha256").hexdigest()
# Publishing from the publisher: one quick reconnect attempt, then 503 (the client retries).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# --- Access to the ingest entry points (election/admission/tokens.py, SECURITY.md) ------------
# One shared token accepted for every sede (local runs, Locust); a secret: environment only.
INGEST_TOKEN = env_str("INGEST_TOKEN")
# How long a process trusts its copy of the active tokens: a revocation takes this long.
INGEST_TOKEN_CACHE_SECONDS = env_float("INGEST_TOKEN_CACHE_SECONDS", 30)
# Votes per second one sede may send to one process, and the burst it may send at once.
# A sede reports at well under 1 vote/s; 0 turns the limit off (benchmarks only).
INGEST_RATE_PER_SEDE = env_float("INGEST_RATE_PER_SEDE", 10)
INGEST_RATE_BURST = env_float("INGEST_RATE_BURST", 30)

# --- Actas (election/actas/) ---------------------------------------------------------------
# Agreeing entries (different digitadores, different credentials) an acta needs to count:
# 2 is the double entry of a real count; 1 for a demo.
ACTA_ENTRIES_REQUIRED = env_int("ACTA_ENTRIES_REQUIRED", 2)
if ACTA_ENTRIES_REQUIRED not in (1, 2):
    raise ImproperlyConfigured(f"ACTA_ENTRIES_REQUIRED={ACTA_ENTRIES_REQUIRED} must be 1 or 2")

# --- The gRPC server (ingest_grpc/server.py; fixed constants in ingest_grpc/config.py) ---
# Its address; the gateway reads the same variable for the server it calls.
GRPC_ADDRESS = edge.GRPC_ADDRESS
GRPC_MAX_BATCH = env_int("GRPC_MAX_BATCH", 300)
# Both routes' group committers: look up the next group on a second connection while one
# commits (election/writer/group_committer.py). Which wins depends on where the time goes:
# docs/performance.md#pipelining-the-group-commit.
GROUP_COMMIT_PIPELINE = env_bool("GROUP_COMMIT_PIPELINE", False)
# Votes per transaction of a stream: large, since one sender's votes need no sharing.
GRPC_STREAM_MAX_BATCH = env_int("GRPC_STREAM_MAX_BATCH", 2000)
# What one server holds at worst, with the defaults below: 128 calls of a 1 MiB message, 8
# streams of about 12 MB each (3,000 votes of 1.3 kB being read, as many in the database
# threads) and 5,000 votes waiting for the committer: about 230 MB, within the pod's 512 Mi
# beside Django and gRPC.
# Calls handled at once: room for the 64 callers of the benchmark, gateways, streams and probes.
GRPC_MAX_CONCURRENT_RPCS = env_int("GRPC_MAX_CONCURRENT_RPCS", 128)
# Streams open at once (bulk senders; the gateway sends unary calls): one more is refused.
GRPC_MAX_STREAMS = env_int("GRPC_MAX_STREAMS", 8)
# A message: a full batch of long-named votes is about 0.7 MB, the largest answer (1,000
# refused votes with every field wrong) about 0.6 MB.
GRPC_MAX_RECEIVE_MESSAGE_BYTES = env_int("GRPC_MAX_RECEIVE_MESSAGE_BYTES", 1 << 20)
GRPC_MAX_SEND_MESSAGE_BYTES = env_int("GRPC_MAX_SEND_MESSAGE_BYTES", 1 << 20)
# Votes in one CastVoteBatch / CastVoteBatches message (the gateway sends at most 200).
GRPC_MAX_VOTES_PER_MESSAGE = env_int("GRPC_MAX_VOTES_PER_MESSAGE", 1000)
# Refused votes a stream's summary lists; one more ends the stream (the summary must fit a message).
GRPC_STREAM_MAX_REFUSED = env_int("GRPC_STREAM_MAX_REFUSED", 1000)
# Votes that may wait for the committer before calls are answered RESOURCE_EXHAUSTED.
GRPC_COMMIT_MAX_PENDING = env_int("GRPC_COMMIT_MAX_PENDING", DEFAULT_MAX_PENDING)
# Actas that may wait for their committer (ingest_grpc/acta_servicer.py): an acta's transaction
# moves tallies and versions, so far fewer than votes.
GRPC_ACTAS_MAX_PENDING = env_int("GRPC_ACTAS_MAX_PENDING", 500)
# The gateway's key: only a call that carries it has its votes' received_at believed.
GRPC_GATEWAY_KEY = edge.GRPC_GATEWAY_KEY
GRPC_SHUTDOWN_GRACE = env_float("GRPC_SHUTDOWN_GRACE", 10)
GRPC_METRICS_PORT = env_int("GRPC_METRICS_PORT", 9101)

# --- The publisher (ingest_pubsub/publisher.py) ------------------------------
PUBLISHER_MAX_BATCH = env_int("PUBLISHER_MAX_BATCH", 500)
PUBLISHER_MAX_PENDING = env_int("PUBLISHER_MAX_PENDING", DEFAULT_MAX_PENDING)
# The longest the publish thread waits for the conflict check's query; then the batch goes
# unchecked (the worker parks a conflict it finds) and no check starts until that one ends.
PUBLISHER_CONFLICT_CHECK_SECONDS = env_float("PUBLISHER_CONFLICT_CHECK_SECONDS", 0.25)
# The queue's bound, in messages (each holds one publish's batch), and the share of the
# broker's maxmemory past which nothing more is queued (ingest_pubsub.publisher.BrokerRoom).
PUBLISHER_MAX_QUEUED = env_int("PUBLISHER_MAX_QUEUED", 100_000)
BROKER_MEMORY_SHARE = env_float("BROKER_MEMORY_SHARE", 0.8)
PUBLISHER_QUEUE_CHECK_SECONDS = env_float("PUBLISHER_QUEUE_CHECK_SECONDS", 1.0)  # 0: every batch
# "off": do not check the broker's AOF at startup (a managed Redis with CONFIG disabled).
BROKER_DURABILITY_CHECK = env_str("BROKER_DURABILITY_CHECK", "on").lower()

# --- The latest-votes list (election/writer/live_feed.py) --------------------
LATEST_VOTES_MAX = env_int("LATEST_VOTES_MAX", 100)
# The least time between two updates of the list by one process (LiveFeed).
LIVE_INTERVAL_MS = env_float("LIVE_INTERVAL_MS", 100)

# --- Metrics: the gRPC server's and the worker's /metrics port listen here ---
BIND_HOST = env_str("BIND_HOST", "127.0.0.1")
# A Celery worker's /metrics (ingest_pubsub/tasks.py); 0: none.
CELERY_METRICS_PORT = env_int("CELERY_METRICS_PORT", 9102)

# --- Catalogue ------------------------------------------------------------
# How long a process trusts its in-memory copy of the catalogue before re-reading it.
CATALOGUE_CACHE_SECONDS = env_int("CATALOGUE_CACHE_SECONDS", 300)

# --- Open data ------------------------------------------------------------
# The election's day (YYYY-MM-DD) in the NIST report's Election (election/results/opendata);
# empty: the day the report is generated, in TIME_ZONE (results night).
ELECTION_DATE = env_str("ELECTION_DATE", "")
try:
    date.fromisoformat(ELECTION_DATE or "2000-01-01")
except ValueError:
    raise ImproperlyConfigured(f"ELECTION_DATE must be a day, YYYY-MM-DD, not {ELECTION_DATE!r}.") from None

# --- i18n, static ---------------------------------------------------------
LANGUAGE_CODE = "es"
TIME_ZONE = env_str("TIME_ZONE", "America/Guatemala")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Dashboard (frontend/, served at / in the local run) -------------------
DASHBOARD_DIR = BASE_DIR / "frontend" / "dist"
# Where the dashboard finds the API, without a trailing slash; empty: the same origin.
API_URL = env_str("API_URL").rstrip("/")
# What the public dashboard reads: "api" (the results API) or "snapshots" (only the published
# snapshot files under SNAPSHOT_PUBLIC_URL, so readers never reach the database).
DASHBOARD_SOURCE = env_str("DASHBOARD_SOURCE", "api")
if DASHBOARD_SOURCE not in ("api", "snapshots"):
    raise ImproperlyConfigured(f"DASHBOARD_SOURCE must be 'api' or 'snapshots', not {DASHBOARD_SOURCE!r}")

# --- Snapshots (election/results/snapshots/, docs/snapshots.md) -------------
# Every SNAPSHOT_INTERVAL_S the `snapshots` process writes the whole of the results as files
# (SNAPSHOT_STORAGE: `file`, a directory at SNAPSHOT_DIR served as static files; or `gcs`, the
# bucket GS_BUCKET_NAME behind Cloud CDN), which readers fetch from SNAPSHOT_PUBLIC_URL.
SNAPSHOT_INTERVAL_S = env_float("SNAPSHOT_INTERVAL_S", 60.0)
if SNAPSHOT_INTERVAL_S <= 0:
    raise ImproperlyConfigured(
        f"SNAPSHOT_INTERVAL_S={SNAPSHOT_INTERVAL_S} must be a positive number of seconds."
    )
# The detail tier (sede files, open data: most of a snapshot's cost) is written in the background
# at most this often and referenced by the regular snapshots (docs/snapshots.md).
SNAPSHOT_DETAIL_INTERVAL_S = env_float("SNAPSHOT_DETAIL_INTERVAL_S", 300.0)
if SNAPSHOT_DETAIL_INTERVAL_S <= 0:
    raise ImproperlyConfigured(
        f"SNAPSHOT_DETAIL_INTERVAL_S={SNAPSHOT_DETAIL_INTERVAL_S} must be a positive number of seconds."
    )
# How many snapshots to keep, the newest (0: all). make run keeps 30 (scripts/run.sh).
SNAPSHOT_KEEP = env_int("SNAPSHOT_KEEP", 0)
SNAPSHOT_DIR = Path(env_str("SNAPSHOT_DIR", str(VAR_DIR / "snapshots"))).resolve()
SNAPSHOT_PUBLIC_URL = env_str("SNAPSHOT_PUBLIC_URL", "http://127.0.0.1:8003/").rstrip("/") + "/"
SNAPSHOT_STORAGE = env_str("SNAPSHOT_STORAGE", "file").lower()
# A file the loop touches while it works, whose age the probes read (snapshots/heartbeat.py).
SNAPSHOT_HEARTBEAT_FILE = env_str("SNAPSHOT_HEARTBEAT_FILE")
GS_BUCKET_NAME = env_str("GS_BUCKET_NAME")
if SNAPSHOT_STORAGE == "file":
    _snapshot_storage = {
        "BACKEND": "election.results.snapshots.storage.SnapshotFileStorage",
        "OPTIONS": {"location": SNAPSHOT_DIR, "base_url": SNAPSHOT_PUBLIC_URL},
    }
elif SNAPSHOT_STORAGE == "gcs":
    if not GS_BUCKET_NAME:
        raise ImproperlyConfigured(
            "SNAPSHOT_STORAGE=gcs needs GS_BUCKET_NAME, the bucket the snapshots go to."
        )
    _snapshot_storage = {
        "BACKEND": "election.results.snapshots.gcs_storage.SnapshotGoogleCloudStorage",
        "OPTIONS": {"bucket_name": GS_BUCKET_NAME},  # credentials: the pod's service account (ADC)
    }
else:
    raise ImproperlyConfigured(f"SNAPSHOT_STORAGE={SNAPSHOT_STORAGE!r} is not `file` or `gcs`.")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "snapshots": _snapshot_storage,
}

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Escrutinio results API",
    "DESCRIPTION": "Read-only, public results of the count (docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # the default
        "election.api.schema.query_parameters_described",
    ],
}
# Cross-origin reads of /api/ (django-cors-headers), for the dashboard served on its own origin.
# API_CORS_ORIGINS: "*" by default, since the API is public, read-only and takes no credentials;
# or the origins allowed (scheme://host[:port]). A conditional GET's preflight asks for If-None-Match.
_api_cors_origins = env_list("API_CORS_ORIGINS", "*")
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_ALL_ORIGINS = "*" in _api_cors_origins
CORS_ALLOWED_ORIGINS = [] if CORS_ALLOW_ALL_ORIGINS else _api_cors_origins
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_HEADERS = ["If-None-Match", "Content-Type"]
CORS_EXPOSE_HEADERS = ["ETag"]
CORS_PREFLIGHT_MAX_AGE = 600
# How stale a results answer may be: the results version is re-read at most this often.
RESULTS_MAX_AGE_MS = env_int("RESULTS_MAX_AGE_MS", 500)
# The API's answer cache (election/api/microcache.py): bytes kept per process, and the largest
# body it keeps (a larger answer is computed each time rather than crowd out the small ones).
API_MICROCACHE_MAX_BYTES = env_int("API_MICROCACHE_MAX_BYTES", 32 * 1024 * 1024)
API_MICROCACHE_MAX_BODY_BYTES = env_int("API_MICROCACHE_MAX_BODY_BYTES", 256 * 1024)

# --- Logging: one JSON object per line, for the cluster's log collector ----
LOG_LEVEL = edge.LOG_LEVEL  # read with the edge's, which logs the same way
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": logs.FORMATTERS,
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": edge.LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}

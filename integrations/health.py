"""Dependency checks behind GET /api/health/. Each check is short and reports, never raises.

The results name backends and carry exception text (hosts, ports): the API shows them to staff
only, and every failure is logged here so operators see it whoever asked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _storage() -> str:
    from django.core.files.storage import default_storage

    default_storage.exists("health-check-probe")
    # default_storage is a lazy proxy: name the backend behind it (FileSystemStorage, S3Storage).
    return type(getattr(default_storage, "_wrapped", default_storage)).__name__


def _vector_store() -> str:
    from integrations.vectors.factory import get_vector_store

    store = get_vector_store()
    # A count on a partition that cannot exist proves the store answers without reading tenant data.
    store.count(org_id="00000000-0000-0000-0000-000000000000", bot_id="00000000-0000-0000-0000-000000000000")
    return type(store).__name__


def _embedder() -> str:
    from integrations.embeddings import get_embedder

    embedder = get_embedder()
    vector = embedder.embed(["health check"])
    if vector.shape != (1, embedder.dim):
        raise RuntimeError(f"embedder returned shape {vector.shape}")
    return embedder.name


def _in_thread(check: Callable[[], str]) -> str:
    # Django opens a connection per thread; close it so a health probe never leaks one.
    try:
        return check()
    finally:
        connection.close()


def run_checks(*, deep: bool = False) -> tuple[bool, dict[str, dict]]:
    checks: dict[str, Callable[[], str]] = {
        "database": _database,
        "storage": _storage,
        "vector_store": _vector_store,
    }
    if deep:
        checks["embedder"] = _embedder
    results: dict[str, dict] = {}
    # The database check runs inline: Django connections are per thread.
    for name, check in checks.items():
        started = time.monotonic()
        try:
            if name == "database":
                detail = check()
            else:
                pool = ThreadPoolExecutor(max_workers=1)
                try:
                    timeout = settings.HEALTH_CHECK_TIMEOUT_S * (20 if name == "embedder" else 1)
                    detail = pool.submit(_in_thread, check).result(timeout=timeout)
                finally:
                    pool.shutdown(wait=False)
            results[name] = {"status": "ok", "detail": detail}
        except FutureTimeout:
            results[name] = {"status": "error", "detail": "timed out"}
        except Exception as exc:  # a health check reports every failure instead of raising
            results[name] = {"status": "error", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        results[name]["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
        if results[name]["status"] != "ok":
            logger.warning("Health check %s failed: %s", name, results[name]["detail"])
    return all(r["status"] == "ok" for r in results.values()), results

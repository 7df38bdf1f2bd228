"""Run parsing of untrusted bytes in a child process with a deadline and a memory cap.

Parsers can loop, recurse or allocate for a very long time on crafted input; in the server process
that would pin a worker (and hold the GIL against every other request). The child is forked, so it
inherits the loaded parsers and costs a few milliseconds.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from typing import Any, TypeVar

from .base import (
    DEFAULT_CHILD_MEMORY_HEADROOM,
    TOO_LARGE_REASON,
    EmptyDocument,
    ExtractedDocument,
    ExtractionError,
    UnsupportedType,
    short,
)
from .formats import extract

T = TypeVar("T")
logger = logging.getLogger(__name__)


def run_sandboxed(
    target: Callable[..., T],
    args: tuple[Any, ...],
    *,
    timeout_s: float,
    memory_headroom_bytes: int | None = DEFAULT_CHILD_MEMORY_HEADROOM,
) -> T:
    """Return ``target(*args)`` computed in a child process that is killed after ``timeout_s`` seconds.

    ``target`` must be a module-level function (picklable where ``fork`` is missing) that signals
    problems with the file by raising :class:`ExtractionError`; its class (``UnsupportedType``,
    ``EmptyDocument``) and reason cross back to the caller, and every other failure of the child
    (a crash, an exception, running out of memory or time) becomes an ``ExtractionError``.

    Uses a bare ``Process`` and ``Pipe`` (no ``Pool``/``Queue``): those need POSIX semaphores in
    ``/dev/shm``, which AWS Lambda lacks. When no child can be started (no ``fork``, a daemonic
    parent, resource limits) ``target`` runs in-process without the time bound. The child's
    address space is capped at its inherited size plus ``memory_headroom_bytes`` (Linux, best effort),
    so a memory blow-up becomes a clean error instead of an OOM kill of the whole worker.
    """
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # platforms without fork (Windows); spawn re-imports this module in the child
        context = multiprocessing.get_context()
    parent_conn, child_conn = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main,
        args=(child_conn, target, args, memory_headroom_bytes),
        name="botwright-extract",
        daemon=True,
    )
    try:
        process.start()
    except (OSError, AssertionError, ValueError) as exc:  # AssertionError: daemonic parents can't fork
        parent_conn.close()
        child_conn.close()
        logger.warning("extraction child could not start (%s); extracting in-process", exc)
        return target(*args)
    child_conn.close()  # so that recv() sees EOF if the child dies without answering
    try:
        if not parent_conn.poll(timeout_s):
            raise ExtractionError(
                f"Extraction took longer than {timeout_s:g} s; the file is too complex or malformed. "
                "Try re-saving it (e.g. print to PDF) or splitting it into smaller files."
            )
        try:
            status, payload = parent_conn.recv()
        except (EOFError, OSError):
            process.join(1)
            raise ExtractionError(
                f"The extractor crashed on this file (exit code {process.exitcode}); it is probably "
                "malformed or too large. Try re-saving it or splitting it into smaller files."
            )
    finally:
        parent_conn.close()
        if process.is_alive():
            process.kill()
        process.join(5)
        with contextlib.suppress(Exception):
            process.close()
    if status == "ok":
        return payload
    error_class = {"UnsupportedType": UnsupportedType, "EmptyDocument": EmptyDocument}.get(
        payload[0], ExtractionError
    )
    raise error_class(payload[1])


def extract_with_timeout(
    data: bytes,
    kind: str,
    *,
    timeout_s: float,
    memory_headroom_bytes: int | None = DEFAULT_CHILD_MEMORY_HEADROOM,
    **limits: Any,
) -> ExtractedDocument:
    """``extract(data, kind, **limits)`` in the sandbox (see :func:`run_sandboxed`)."""
    return run_sandboxed(
        _extract_job, (data, kind, limits), timeout_s=timeout_s, memory_headroom_bytes=memory_headroom_bytes
    )


def _extract_job(data: bytes, kind: str, limits: dict[str, Any]) -> ExtractedDocument:
    return extract(data, kind, **limits)


def _child_main(
    conn: Any, target: Callable[..., Any], args: tuple[Any, ...], memory_headroom_bytes: int | None
) -> None:
    # pypdf logs a warning per odd font or object; in the throwaway child they are only noise, so keep
    # them from the inherited root handlers (the PDF reader's damage collector still sees them).
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.setLevel(logging.WARNING)
    pypdf_logger.propagate = False
    pypdf_logger.addHandler(logging.NullHandler())
    if memory_headroom_bytes is not None:
        _limit_address_space(memory_headroom_bytes)
    try:
        result: tuple[str, Any] = ("ok", target(*args))
    except ExtractionError as exc:
        result = ("error", (type(exc).__name__, exc.reason))
    except MemoryError:
        result = ("error", ("ExtractionError", TOO_LARGE_REASON))
    except BaseException as exc:  # noqa: BLE001 - anything else still deserves a clean answer
        result = ("error", ("ExtractionError", f"The file could not be processed: {short(exc)}"))
    try:
        conn.send(result)
    finally:
        conn.close()
        # Skip atexit handlers and buffered-IO flushing inherited from the forked parent.
        os._exit(0)


def _limit_address_space(headroom: int) -> None:
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = current + headroom
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        if soft == resource.RLIM_INFINITY or wanted < soft:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except Exception:  # noqa: BLE001, S110 - best effort: not Linux, or limits not adjustable
        pass

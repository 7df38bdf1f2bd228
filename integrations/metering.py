"""Per-operation usage counters, collected without threading them through every call.

Adapters report what they consume (``metering.add("vector_bytes_read", n)``); the caller that owns
an operation (a chat turn, a document's processing) wraps it in ``with metering.collect() as meter``
and reads the totals afterwards (analytics, cost estimates, CloudWatch metrics). Outside a
``collect`` block ``add`` is a no-op, so adapters never need to know whether anyone is counting.

Well-known names: ``vector_bytes_read``, ``vector_items_read``, ``embeddings_computed``,
``embedding_tokens``, ``model_calls``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[Counter | None] = ContextVar("botwright_meter", default=None)


def add(name: str, amount: int | float = 1) -> None:
    meter = _current.get()
    if meter is not None:
        meter[name] += amount


@contextmanager
def collect() -> Iterator[Counter]:
    """Count what the enclosed code consumes. Nested blocks also add to the enclosing one."""
    outer = _current.get()
    meter: Counter = Counter()
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)
        if outer is not None:
            outer.update(meter)

"""The rate-limit counter (issue 9): one atomic upsert per check in `chat.RateCounter`, so concurrent
hits are never lost, live counters are never evicted, and closed windows are pruned."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from chat import ratelimit
from chat.models import RateCounter
from tenants.errors import LimitExceeded

T0 = 1_800_000_000.0  # the start of a minute (1_800_000_000 = 30_000_000 * 60)


@pytest.fixture(autouse=True)
def _no_pending_prune(monkeypatch):
    """Each test decides when the prune runs (the process-wide schedule would leak between tests)."""
    monkeypatch.setattr(ratelimit, "_next_prune", float("inf"))


def counts():
    return dict(RateCounter.objects.values_list("key", "count"))


@pytest.mark.django_db
def test_counts_within_a_window_and_starts_again_in_the_next():
    assert [ratelimit.hit("k", "3/minute", now=T0 + s) for s in (1, 2, 3)] == [0, 0, 0]
    # The 4th hit 40 s into the minute waits the 20 s left of it (rounded up).
    assert ratelimit.hit("k", "3/minute", now=T0 + 40.2) == 20
    assert ratelimit.hit("k", "3/minute", now=T0 + 59.9) == 1
    assert ratelimit.hit("k", "3/minute", now=T0 + 60) == 0  # a new window
    assert ratelimit.hit("other", "3/minute", now=T0 + 59) == 0  # keys count apart
    rows = {(c.key, c.window): c.count for c in RateCounter.objects.all()}
    assert rows == {("k", 30_000_000): 5, ("k", 30_000_001): 1, ("other", 30_000_000): 1}
    assert RateCounter.objects.get(key="k", window=30_000_000).expires_at == datetime.fromtimestamp(
        T0 + 60, tz=UTC
    )


@pytest.mark.django_db
def test_check_refuses_with_retry_after_and_the_limit_that_refused(monkeypatch):
    monkeypatch.setattr("chat.ratelimit.time", SimpleNamespace(time=lambda: T0 + 45))
    ratelimit.check("member:1", "1/minute", limit="member")
    with pytest.raises(LimitExceeded) as refused:
        ratelimit.check("member:1", "1/minute", limit="member")
    assert refused.value.retry_after == 15 and refused.value.extra == {"limit": "member"}


@pytest.mark.django_db
def test_one_query_per_check_and_three_for_a_public_chat(settings):
    ratelimit.hit("warm", "5/minute")  # the window's first hit inserts; later ones update
    with CaptureQueriesContext(connection) as one:
        ratelimit.check("warm", "5/minute", limit="member")
    assert len(one.captured_queries) == 1
    assert "ON CONFLICT" in one.captured_queries[0]["sql"]
    with CaptureQueriesContext(connection) as first:
        ratelimit.check("fresh", "5/minute", limit="member")  # inserting is the same one statement
    assert len(first.captured_queries) == 1
    settings.PUBLIC_CHAT_RATE_VISITOR = settings.PUBLIC_CHAT_RATE_IP = settings.PUBLIC_CHAT_RATE_BOT = (
        "9/minute"
    )
    with CaptureQueriesContext(connection) as public:
        ratelimit.public_chat_check(bot_id="b1", visitor_id="v1", ip="192.0.2.1")
    assert len(public.captured_queries) == 3
    assert counts() == {"warm": 2, "fresh": 1, "visitor:b1:v1": 1, "ip:b1:192.0.2.1": 1, "bot:b1": 1}


@pytest.mark.django_db
def test_a_thousand_live_counters_are_all_kept():
    """The database cache culled a third of its entries past 300, live counters included."""
    keys = [f"visitor:bot:{i:04d}" for i in range(1000)]
    assert all(ratelimit.hit(key, "1/minute", now=T0 + 1) == 0 for key in keys)
    assert RateCounter.objects.count() == 1000
    # Every counter still holds its hit: the second one of each key is refused.
    assert [ratelimit.hit(key, "1/minute", now=T0 + 2) for key in keys] == [58] * 1000


@pytest.mark.django_db
def test_prune_deletes_only_closed_windows():
    ratelimit.hit("minute", "5/minute", now=T0 + 10)  # window closes at T0 + 60
    ratelimit.hit("hour", "5/hour", now=T0 + 10)  # closes at the end of the hour
    ratelimit.hit("minute", "5/minute", now=T0 + 70)  # the next minute's window
    assert ratelimit.prune(now=T0 + 60) == 0  # a window is live up to its end
    assert ratelimit.prune(now=T0 + 61) == 1
    assert sorted(RateCounter.objects.values_list("key", "window")) == [
        ("hour", int((T0 + 10) // 3600)),
        ("minute", 30_000_001),
    ]
    # The live counters kept counting.
    assert ratelimit.hit("minute", "1/minute", now=T0 + 71) == 49


@pytest.mark.django_db
def test_hits_prune_at_most_once_per_interval(monkeypatch):
    RateCounter.objects.create(key="old", window=1, count=9, expires_at=datetime.fromtimestamp(120, tz=UTC))
    monkeypatch.setattr(ratelimit, "_next_prune", 0.0)
    with CaptureQueriesContext(connection) as due:
        ratelimit.hit("k", "5/minute", now=T0)
    assert len(due.captured_queries) == 2 and due.captured_queries[0]["sql"].startswith("DELETE")
    assert not RateCounter.objects.filter(key="old").exists()
    with CaptureQueriesContext(connection) as within:
        ratelimit.hit("k", "5/minute", now=T0 + ratelimit.PRUNE_INTERVAL_S - 1)
    assert len(within.captured_queries) == 1
    with CaptureQueriesContext(connection) as next_due:
        ratelimit.hit("k", "5/minute", now=T0 + ratelimit.PRUNE_INTERVAL_S)
    assert len(next_due.captured_queries) == 2


@pytest.mark.django_db
def test_keys_longer_than_the_column_count_apart():
    long_a, long_b = "visitor:" + "a" * 300, "visitor:" + "a" * 299 + "b"
    assert ratelimit.hit(long_a, "1/minute", now=T0) == 0
    assert ratelimit.hit(long_b, "1/minute", now=T0) == 0
    assert ratelimit.hit(long_a, "1/minute", now=T0) == 60
    assert all(len(key) <= 255 for key in counts())


@pytest.mark.django_db(transaction=True)
def test_a_hit_commits_even_when_the_request_fails_afterwards():
    """Callers check before their transaction: the hit is committed at once, the failure cannot undo it."""
    ratelimit.check("member:7", "5/minute", limit="member")
    with pytest.raises(RuntimeError), transaction.atomic():
        RateCounter.objects.create(key="turn", window=0, count=1, expires_at=datetime.now(UTC))
        raise RuntimeError("the chat turn failed")
    assert counts() == {"member:7": 1}


@pytest.mark.django_db(transaction=True)
def test_inside_an_atomic_block_the_hit_rolls_back_with_it():
    """Documented behaviour: checked inside the caller's transaction, the hit shares its fate."""
    with pytest.raises(RuntimeError), transaction.atomic():
        assert ratelimit.hit("member:8", "5/minute") == 0
        raise RuntimeError("rolled back")
    assert counts() == {}
    with transaction.atomic():
        ratelimit.hit("member:8", "5/minute")
    assert counts() == {"member:8": 1}


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_hits_on_one_key_are_all_counted():
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite serialises every write)")
    start = threading.Barrier(50)
    results: list[int] = []
    errors: list[BaseException] = []

    def one_request():
        try:
            start.wait(timeout=30)
            results.append(ratelimit.hit("bot:busy", "25/minute", now=T0 + 30))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_request) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert counts() == {"bot:busy": 50}
    # Exactly the limit passed: no two requests saw the same count.
    assert sorted(results) == [0] * 25 + [30] * 25

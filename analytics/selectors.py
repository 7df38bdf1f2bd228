"""Analytics reads: the summary, usage and cost, and the unanswered-question groups.

Summary and usage read only the rollup tables (never raw messages). The unanswered list reads the
answers that fell back or were rated down in the range (a filtered, indexed subset) to count each
group's occurrences there, and joins the stored groups for their id and review status.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, Sum
from django.shortcuts import get_object_or_404

from bots.models import Bot
from chat.models import Channel, Message, Role
from documents.models import Document
from integrations.embeddings import get_embedder
from tenants.models import Organization

from .models import COUNTERS, DailyKnowledgeBase, DailyMetrics, DailyVisitor, UnansweredQuestion
from .recording import prices
from .rollup import LATENCY_BUCKET_COUNT, key_hash, latency_percentile, normalise, usd
from .services import day_bounds, knowledge_base_facts, question_subquery

CHANNELS = [choice.value for choice in Channel]
KB_FIELDS = ("documents_total", "documents_indexed", "chunks_total", "chunks_indexed", "storage_bytes")
NEAR_DUPLICATE_COSINE = 0.9
UNANSWERED_SCAN_LIMIT = 20_000
ESTIMATE_NOTE = (
    "Estimated from token counts and the list prices in the ANALYTICS_PRICES setting; your invoice "
    "(free tiers, discounts, taxes, other services) may differ."
)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _derived(counters: Counter) -> dict[str, Any]:
    """The readable figures of a sum of rollup rows."""
    histogram = [counters[f"latency_b{i:02d}"] for i in range(LATENCY_BUCKET_COUNT)]
    answers = counters["assistant_messages"]
    rated = counters["rated_up"] + counters["rated_down"]
    return {
        "conversations": counters["conversations"],
        "user_messages": counters["user_messages"],
        "assistant_messages": answers,
        "visitors": counters["visitors"],
        "unanswered": counters["unanswered"],
        "unanswered_rate": _rate(counters["unanswered"], answers),
        "model_calls_avoided": counters["fallback_answers"],
        "model_errors": counters["model_errors"],
        "rated_up": counters["rated_up"],
        "rated_down": counters["rated_down"],
        "satisfaction_rate": _rate(counters["rated_up"], rated),
        "latency_ms_avg": round(counters["latency_ms_sum"] / answers) if answers else None,
        "latency_ms_p95": latency_percentile(histogram) if answers else None,
        "prompt_tokens": counters["prompt_tokens"],
        "completion_tokens": counters["completion_tokens"],
        "estimated_cost_usd": usd(counters["cost_nanousd"]),
    }


def _metrics_rows(*, org: Organization, bot: Bot | None, start: date, end: date):
    qs = DailyMetrics.objects.for_org(org).filter(day__gte=start, day__lte=end)
    if bot is not None:
        qs = qs.filter(bot=bot)
    return qs


def analytics_summary(*, org: Organization, bot: Bot | None, start: date, end: date) -> dict[str, Any]:
    """Totals and one entry per day from `start` to `end` (UTC, inclusive); quiet days are zeros."""
    by_day: dict[date, Counter] = defaultdict(Counter)
    channels: dict[date, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    rows = (
        _metrics_rows(org=org, bot=bot, start=start, end=end)
        .values("day", "channel")
        .annotate(**{f"s_{name}": Sum(name) for name in COUNTERS})
    )
    for row in rows:
        counters = Counter({name: row[f"s_{name}"] or 0 for name in COUNTERS})
        by_day[row["day"]].update(counters)
        channels[row["day"]][row["channel"]].update(
            {"user": counters["user_messages"], "assistant": counters["assistant_messages"]}
        )
    knowledge = _knowledge_base_series(org=org, bot=bot, start=start, end=end)
    daily, total = [], Counter()
    total_channels: dict[str, Counter] = defaultdict(Counter)
    for day in days_between(start, end):
        counters = by_day.get(day, Counter())
        total.update(counters)
        for channel in CHANNELS:
            total_channels[channel].update(channels[day][channel])
        daily.append(
            {
                "day": day,
                **_derived(counters),
                "messages_by_channel": _by_channel(channels[day]),
                **knowledge[day],
            }
        )
    visitors = DailyVisitor.objects.for_org(org).filter(day__gte=start, day__lte=end)
    if bot is not None:
        visitors = visitors.filter(bot=bot)
    totals = {
        **_derived(total),
        "messages_by_channel": _by_channel(total_channels),
        # Distinct over the whole range: a visitor back on another day counts once.
        "visitors": visitors.values("bot_id", "channel", "visitor").distinct().count(),
        **{
            name: sum(knowledge[day][name] for day in knowledge)
            for name in ("documents_indexed", "chunks_indexed")
        },
        **{name: knowledge[end][name] for name in ("documents_total", "chunks_total", "storage_bytes")},
    }
    return {"bot_id": bot.pk if bot else None, "from": start, "to": end, "totals": totals, "daily": daily}


def _by_channel(channels: dict[str, Counter]) -> dict[str, dict[str, int]]:
    return {
        channel: {"user": channels[channel]["user"], "assistant": channels[channel]["assistant"]}
        for channel in CHANNELS
    }


def _knowledge_base_series(*, org: Organization, bot: Bot | None, start: date, end: date) -> dict[date, dict]:
    """Per day: the stored end-of-day snapshot, or, for days not rolled up yet (today), the same
    facts computed from the documents table."""
    stored = DailyKnowledgeBase.objects.for_org(org).filter(day__gte=start, day__lte=end)
    if bot is not None:
        stored = stored.filter(bot=bot)
    series: dict[date, dict[str, int]] = {}
    for row in stored.values("day").annotate(**{f"s_{n}": Sum(n) for n in KB_FIELDS}):
        series[row["day"]] = {name: row[f"s_{name}"] or 0 for name in KB_FIELDS}
    missing = [day for day in days_between(start, end) if day not in series]
    if missing:
        live = knowledge_base_facts(org=org, days=missing, bot=bot)
        for day in missing:
            series[day] = dict.fromkeys(KB_FIELDS, 0)
            for (_, fact_day), facts in live.items():
                if fact_day == day:
                    for name in KB_FIELDS:
                        series[day][name] += facts[name]
    return series


# --- Usage and estimated cost ------------------------------------------------------------------


def analytics_usage(*, org: Organization, start: date, end: date) -> dict[str, Any]:
    """Per bot and for the org: requests by channel, tokens, embeddings, vector bytes read, storage,
    and the estimated cost in USD."""
    table = prices()
    dynamodb = settings.VECTOR_STORE == "dynamodb"
    per_bot: dict[Any, Counter] = defaultdict(Counter)
    requests: dict[Any, Counter] = defaultdict(Counter)
    rows = (
        _metrics_rows(org=org, bot=None, start=start, end=end)
        .values("bot_id", "channel")
        .annotate(**{f"s_{name}": Sum(name) for name in COUNTERS})
    )
    for row in rows:
        per_bot[row["bot_id"]].update({name: row[f"s_{name}"] or 0 for name in COUNTERS})
        requests[row["bot_id"]][row["channel"]] += row["s_user_messages"] or 0
    storage = dict(
        Document.objects.for_org(org)
        .values("bot_id")
        .annotate(b=Sum("size_bytes"))
        .values_list("bot_id", "b")
    )
    bots = list(Bot.objects.for_org(org).order_by("name").values_list("pk", "name"))
    entries, org_total, org_requests = [], Counter(), Counter()
    for bot_id, name in bots:
        counters = per_bot.get(bot_id, Counter())
        counters["storage_bytes"] = storage.get(bot_id) or 0
        org_total.update(counters)
        org_requests.update(requests.get(bot_id, Counter()))
        entries.append(
            {"bot_id": bot_id, "name": name, **_usage(counters, requests.get(bot_id), table, dynamodb)}
        )
    return {
        "from": start,
        "to": end,
        "currency": "USD",
        "estimated": True,
        "note": ESTIMATE_NOTE,
        "prices": {
            "models": {name: dict(price) for name, price in table.models.items()},
            "embeddings": dict(table.embeddings),
            "dynamodb_read_request_units": str(table.dynamodb_read_request_units),
        },
        "org": _usage(org_total, org_requests, table, dynamodb),
        "bots": entries,
    }


def _usage(counters: Counter, requests: Counter | None, table, dynamodb: bool) -> dict[str, Any]:
    requests = requests or Counter()
    vector_cost = table.vector_read_cost(counters["vector_bytes_read"]) if dynamodb else 0
    return {
        "requests_by_channel": {channel: requests[channel] for channel in CHANNELS},
        "prompt_tokens": counters["prompt_tokens"],
        "completion_tokens": counters["completion_tokens"],
        "model_calls": counters["assistant_messages"] - counters["fallback_answers"],
        "embeddings_computed": counters["embeddings_computed"],
        "embedding_tokens": counters["embedding_tokens"],
        "vector_bytes_read": counters["vector_bytes_read"],
        "storage_bytes": counters["storage_bytes"],
        "estimated_cost_usd": {
            "model_and_embeddings": usd(counters["cost_nanousd"]),
            "vector_reads": usd(vector_cost),
            "total": usd(counters["cost_nanousd"] + vector_cost),
        },
    }


# --- Unanswered questions ----------------------------------------------------------------------


def unanswered_get(*, org: Organization, group_id: Any) -> UnansweredQuestion:
    return get_object_or_404(UnansweredQuestion.objects.for_org(org).select_related("bot"), pk=group_id)


def _occurrences(*, org: Organization, bot: Bot | None, start: date, end: date):
    since, _ = day_bounds(start)
    _, until = day_bounds(end)
    qs = Message.objects.for_org(org).filter(role=Role.ASSISTANT, created_at__gte=since, created_at__lt=until)
    if bot is not None:
        qs = qs.filter(bot=bot)
    return (
        qs.filter(Q(unanswered=True, error="") | Q(rating="down"))
        .annotate(question=question_subquery(org))
        .order_by("-created_at", "-id")
        .values_list("bot_id", "question", "conversation_id", "created_at")[:UNANSWERED_SCAN_LIMIT]
    )


def unanswered_list(
    *, org: Organization, bot: Bot | None, start: date, end: date, status: str | None = None
) -> list[dict[str, Any]]:
    """Groups of questions the bots could not answer (fallback given or rated down) in the range,
    most frequent first; near-duplicates merged into the most frequent one (see `_merge`)."""
    groups: dict[tuple[Any, str], dict[str, Any]] = {}
    for bot_id, question, conversation_id, created_at in _occurrences(org=org, bot=bot, start=start, end=end):
        key = normalise(question or "")
        if not key:
            continue
        group = groups.get((bot_id, key))
        if group is None:  # newest first: the first occurrence seen is the latest
            group = groups[(bot_id, key)] = {
                "bot_id": bot_id,
                "key": key,
                "question": question,
                "count": 0,
                "last_seen_at": created_at,
                "example_conversation_id": conversation_id,
                "variants": [],
            }
        group["count"] += 1
    stored = {
        (row.bot_id, row.key_hash): row
        for row in UnansweredQuestion.objects.for_org(org).filter(
            key_hash__in=[key_hash(key) for _, key in groups]
        )
    }
    for (bot_id, key), group in groups.items():
        row = stored.get((bot_id, key_hash(key)))
        group.update(
            id=row.pk if row else None,
            status=row.status if row else "open",
            answer=row.answer if row else "",
            document_id=row.document_id if row else None,
        )
    merged = _merge(list(groups.values()))
    if status:
        merged = [group for group in merged if group["status"] == status]
    return merged


def _ranked(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(groups, key=lambda g: (-g["count"], -g["last_seen_at"].timestamp(), g["key"]))


def _merge(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold near-duplicates (embedding cosine ≥ 0.9, same bot) into the most frequent of them.

    Only where cheap: with a local embedder (no per-call charge), at most
    ANALYTICS_NEAR_DUPLICATE_MAX distinct questions, vectors cached per text. Otherwise groups are
    by normalised text only.
    """
    ranked = _ranked(groups)
    embedder = get_embedder()
    if (
        len(ranked) < 2
        or len(ranked) > settings.ANALYTICS_NEAR_DUPLICATE_MAX
        or embedder.name.startswith("google/")
    ):
        return ranked
    vectors = _vectors(embedder, [g["key"] for g in ranked])
    heads: list[int] = []
    out: list[dict[str, Any]] = []
    for index, group in enumerate(ranked):
        similar = next(
            (
                head
                for head in heads
                if ranked[head]["bot_id"] == group["bot_id"]
                and float(vectors[head] @ vectors[index]) >= NEAR_DUPLICATE_COSINE
            ),
            None,
        )
        if similar is None:
            heads.append(index)
            out.append(group)
            continue
        head = ranked[similar]
        head["count"] += group["count"]
        head["variants"].append(group["question"])
        if group["last_seen_at"] > head["last_seen_at"]:
            head["last_seen_at"] = group["last_seen_at"]
            head["example_conversation_id"] = group["example_conversation_id"]
    return _ranked(out)


def _vectors(embedder, keys: list[str]) -> np.ndarray:
    names = {key: f"analytics:q:{embedder.name}:{key_hash(key)}" for key in keys}
    cached = cache.get_many(list(names.values()))
    missing = [key for key in keys if names[key] not in cached]
    if missing:
        fresh = embedder.embed(missing)
        new = {names[key]: fresh[i].astype(np.float32).tobytes() for i, key in enumerate(missing)}
        cache.set_many(new, timeout=7 * 24 * 3600)
        cached.update(new)
    return np.stack([np.frombuffer(cached[names[key]], dtype=np.float32) for key in keys])

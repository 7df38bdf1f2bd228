"""Answer-quality metrics for a bot asked golden questions — pure: no Django, no model.

A *golden question* is a question with the places its answer lives (a document and a span quoted
from it; more than one when the documents say it in several places), or with none at all: an
off-topic question the bot should decline with its fallback. What
the bot did with each question is an :class:`Outcome`; :func:`summarise` turns outcomes into the
figures that matter:

- **recall@k**: share of on-topic questions whose answer span is in one of the first ``k`` passages;
- **MRR@k**: mean of ``1 / rank`` of the first passage holding the answer (0 past ``k``);
- **answered rate**: share of on-topic questions that got an answer rather than the fallback;
- **fallback rate**: share of off-topic questions that got the fallback rather than an answer.

A passage "holds" an answer when it comes from the expected document and covers the quoted span —
all of it, or (a chunk boundary may cut a span in two) one contiguous stretch of at least
``MIN_COVERED_SHARE`` of it. Matching is on text, not on chunk ids, so a golden set survives
re-chunking, re-indexing and a change of embedding model.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

# A span cut by a chunk boundary still counts when one piece holds most of it.
MIN_COVERED_SHARE = 0.6


@dataclass(frozen=True)
class Expected:
    """Where an answer lives: a document (by the key the caller maps passages to) and a quoted span."""

    source: str
    quote: str


@dataclass(frozen=True)
class GoldenQuestion:
    """A question and where its answer may be found; no ``expected`` marks an off-topic question."""

    id: str
    question: str
    expected: tuple[Expected, ...] = ()

    @property
    def on_topic(self) -> bool:
        return bool(self.expected)


@dataclass(frozen=True)
class Outcome:
    """What the bot did with one golden question.

    ``rank`` is the 1-based position of the first retrieved passage holding an expected answer (None:
    not retrieved, or an off-topic question); ``answered`` is False when the bot gave its fallback.
    """

    question_id: str
    on_topic: bool
    rank: int | None
    answered: bool
    seconds: float = 0.0


@dataclass(frozen=True)
class Summary:
    k: int
    on_topic: int
    off_topic: int
    recall: float
    mrr: float
    answered_rate: float
    fallback_rate: float
    p50_ms: float
    p95_ms: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "k": self.k,
            "on_topic": self.on_topic,
            "off_topic": self.off_topic,
            "recall": round(self.recall, 4),
            "mrr": round(self.mrr, 4),
            "answered_rate": round(self.answered_rate, 4),
            "fallback_rate": round(self.fallback_rate, 4),
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
        }


def normalise(text: str) -> str:
    """Case-folded, with every run of whitespace as one space (line wrapping differs between copies)."""
    return " ".join(text.split()).casefold()


def covers(passage_text: str, quote: str, *, min_share: float = MIN_COVERED_SHARE) -> bool:
    """Whether ``passage_text`` holds ``quote``: whole, or one contiguous piece of ``min_share`` of it."""
    passage, wanted = normalise(passage_text), normalise(quote)
    if not wanted:
        raise ValueError("An expected answer needs a non-empty quote.")
    if wanted in passage:
        return True
    match = SequenceMatcher(None, passage, wanted, autojunk=False).find_longest_match(
        0, len(passage), 0, len(wanted)
    )
    return match.size >= min_share * len(wanted)


def hit_rank(passages: Sequence[tuple[str, str]], expected: Expected, *, k: int | None = None) -> int | None:
    """1-based rank of the first ``(source, text)`` passage holding ``expected``, within ``k`` if given."""
    for rank, (source, text) in enumerate(passages[:k] if k else passages, start=1):
        if source == expected.source and covers(text, expected.quote):
            return rank
    return None


def recall_at_k(ranks: Iterable[int | None], k: int) -> float:
    """Share of ranks within ``k`` (None counts as a miss); 0.0 for no ranks."""
    values = list(ranks)
    return sum(1 for r in values if r is not None and r <= k) / len(values) if values else 0.0


def mrr_at_k(ranks: Iterable[int | None], k: int) -> float:
    """Mean reciprocal rank, counting ranks past ``k`` (and None) as 0; 0.0 for no ranks."""
    values = list(ranks)
    return sum(1 / r for r in values if r is not None and r <= k) / len(values) if values else 0.0


def answered_rate(outcomes: Iterable[Outcome]) -> float:
    """Share of on-topic questions answered (not given the fallback)."""
    on = [o for o in outcomes if o.on_topic]
    return sum(o.answered for o in on) / len(on) if on else 0.0


def fallback_rate(outcomes: Iterable[Outcome]) -> float:
    """Share of off-topic questions given the fallback (not answered)."""
    off = [o for o in outcomes if not o.on_topic]
    return sum(not o.answered for o in off) / len(off) if off else 0.0


def _percentile_ms(seconds: Sequence[float], share: float) -> float:
    if not seconds:
        return 0.0
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def summarise(outcomes: Sequence[Outcome], *, k: int) -> Summary:
    """The four quality figures (and latency percentiles) of one evaluation run."""
    on = [o for o in outcomes if o.on_topic]
    seconds = [o.seconds for o in outcomes]
    return Summary(
        k=k,
        on_topic=len(on),
        off_topic=len(outcomes) - len(on),
        recall=recall_at_k((o.rank for o in on), k),
        mrr=mrr_at_k((o.rank for o in on), k),
        answered_rate=answered_rate(outcomes),
        fallback_rate=fallback_rate(outcomes),
        p50_ms=statistics.median(seconds) * 1000 if seconds else 0.0,
        p95_ms=_percentile_ms(seconds, 0.95),
    )

"""Django-free rules shared by the incremental rollup, the rebuild and the readers.

- Latency is kept as a histogram so daily rows can be summed and p95 estimated from the sum.
- Questions are grouped by a normal form (case, punctuation, whitespace folded).
- Costs are integers in billionths of a USD (nano-USD): list prices per million tokens with up to
  three decimals are whole nano-USD per token, so summing per turn equals pricing the sum.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

# Upper bounds (inclusive, ms) of the latency buckets; the last bucket has no upper bound.
LATENCY_BOUNDS_MS: tuple[int, ...] = (
    100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000, 7500, 10000, 15000, 20000,
)  # fmt: skip
LATENCY_BUCKET_COUNT = len(LATENCY_BOUNDS_MS) + 1
NANO_PER_USD = 1_000_000_000


def latency_bucket(latency_ms: int) -> int:
    """Index of the bucket holding `latency_ms`."""
    return bisect_left(LATENCY_BOUNDS_MS, max(0, int(latency_ms)))


def latency_percentile(histogram: Sequence[int], q: float = 0.95) -> int:
    """The q-quantile estimated from bucket counts, interpolated linearly inside its bucket.

    Exact to within one bucket (at most a factor 1.5 between neighbouring bounds); 0 when empty.
    The open last bucket reports its lower bound.
    """
    total = sum(histogram)
    if total == 0:
        return 0
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = LATENCY_BOUNDS_MS[index - 1] if index else 0
            if index >= len(LATENCY_BOUNDS_MS):
                return low
            high = LATENCY_BOUNDS_MS[index]
            return round(low + (high - low) * (rank - seen) / count)
        seen += count
    return LATENCY_BOUNDS_MS[-1]


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """A question's grouping key: case-folded, punctuation and symbols dropped, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in folded)
    return _SPACE.sub(" ", kept).strip()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def visitor_hash(key: str) -> str:
    """What is stored for a visitor: never the public visitor token itself."""
    return hashlib.sha256(key.encode()).hexdigest()


def pseudonym(visitor_id: str) -> str:
    """The stable pseudonym builders see for a public visitor (same as the conversations API)."""
    if not visitor_id:
        return ""
    return "visitor-" + hashlib.sha256(visitor_id.encode()).hexdigest()[:12]


# --- Prices ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceTable:
    """USD per million tokens: `models[name] = {"input", "output"}`, `embeddings[name]` per input
    token, and DynamoDB on-demand reads per million read request units."""

    models: Mapping[str, Mapping[str, str]]
    embeddings: Mapping[str, str]
    dynamodb_read_request_units: str = "0"

    @staticmethod
    def _nano_per_token(per_million: str | float | int) -> int:
        # USD per 1M tokens -> nano-USD per token: x * 1e9 / 1e6.
        return int(Decimal(str(per_million)) * 1000)

    def _match(self, table: Mapping[str, object], name: str) -> str | None:
        name = (name or "").removeprefix("models/")
        # Versioned names ("gemini-2.5-flash-001") take the price of the longest listed prefix.
        candidates = [key for key in table if name == key or name.startswith(key + "-")]
        return max(candidates, key=len) if candidates else None

    def is_priced(self, model: str) -> bool:
        return self._match(self.models, model) is not None

    def model_cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> int:
        """Nano-USD for one model's tokens; an unlisted model (the offline answerer) costs nothing."""
        key = self._match(self.models, model)
        if key is None:
            return 0
        price = self.models[key]
        return prompt_tokens * self._nano_per_token(price.get("input", 0)) + completion_tokens * (
            self._nano_per_token(price.get("output", 0))
        )

    def embedding_cost(self, embedder: str, tokens: int) -> int:
        key = self._match(self.embeddings, embedder.removeprefix("google/").split("@", 1)[0])
        return tokens * self._nano_per_token(self.embeddings[key]) if key else 0

    def vector_read_cost(self, bytes_read: int) -> int:
        """DynamoDB on-demand: an eventually consistent read costs half a unit per 4 KB read."""
        units = bytes_read / 4096 / 2
        return round(units * float(Decimal(str(self.dynamodb_read_request_units)) * 1000))


def usd(nano: int) -> float:
    return round(nano / NANO_PER_USD, 9)


# --- What one answer adds to its day -------------------------------------------------------------


def answer_counters(
    *,
    unanswered: bool,
    error: str,
    latency_ms: int,
    prompt_tokens: int,
    completion_tokens: int,
    model_name: str,
    embeddings_computed: int,
    embedding_tokens: int,
    vector_bytes_read: int,
    rating: str,
    prices: PriceTable,
    embedder: str,
) -> dict[str, int]:
    """The DailyMetrics counters one assistant message adds (shared by the upsert and the rebuild)."""
    out = {
        "assistant_messages": 1,
        "unanswered": int(unanswered),
        "fallback_answers": int(unanswered and not error),
        "model_errors": int(bool(error)),
        "rated_up": int(rating == "up"),
        "rated_down": int(rating == "down"),
        "latency_ms_sum": latency_ms,
        f"latency_b{latency_bucket(latency_ms):02d}": 1,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "embeddings_computed": embeddings_computed,
        "embedding_tokens": embedding_tokens,
        "vector_bytes_read": vector_bytes_read,
        "cost_nanousd": prices.model_cost(model_name, prompt_tokens, completion_tokens)
        + prices.embedding_cost(embedder, embedding_tokens),
    }
    return {name: value for name, value in out.items() if value}


def visitor_key(
    *, channel: str, visitor_id: str, user_id: object, api_key_id: object, conversation_id: object
) -> str:
    """Who wrote, per channel: a public visitor's token, a member, an API key (else the conversation)."""
    if channel == "public" and visitor_id:
        return visitor_hash("p:" + visitor_id)
    if channel == "builder" and user_id:
        return visitor_hash(f"u:{user_id}")
    if channel == "api" and api_key_id:
        return visitor_hash(f"k:{api_key_id}")
    return visitor_hash(f"c:{conversation_id}")

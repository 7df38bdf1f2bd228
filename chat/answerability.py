"""Can the retrieved passages answer the question? Decided before any model is called — pure, no Django.

A cosine threshold alone cannot tell: once a bot holds thousands of chunks, some chunk is always
loosely similar to any question ("Who painted the Sistine Chapel?" finds a passage about template
"painting"). Two signals together can:

- **Similarity** of the best passage (cosine, dense search). Below ``floor`` nothing is close enough
  to answer from; at or above ``confident`` a passage says much the same thing as the question.
- **Unknown share**: the IDF-weighted share of the question's words that occur in *none* of the bot's
  live chunks. Weights come from the bot's own index (``n`` chunks containing a word, ``N`` live chunks,
  ``idf = ln(1 + (N - n + 0.5) / (n + 0.5))``), so the measure is calibrated per bot: "oil", "Honda"
  and "Civic" weigh most in a Django bot precisely because its documents never use them, while a car
  manual's bot knows them. A question whose weightiest words the knowledge base has never seen is
  about something else.

Rule: answer when the best similarity is ``>= confident``, or ``>= floor`` with an unknown share
``<= max_unknown_share`` (with a measured band, checked from ``MIN_VOCABULARY_CHUNKS`` live chunks
on); otherwise give the bot's fallback without calling the model. The bands are
per embedder (cosine scales differ between models) and were measured on ``bench/bench_quality.py``;
a bot's ``relevance_threshold`` can only raise the floor. Passages under the bot's
``relevance_threshold`` are not handed to the model (passages only the lexical search found carry no
similarity and stay: they share the question's words).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from integrations.embeddings.minilm import MODEL_NAME as MINILM
from integrations.llm.base import Passage


@dataclass(frozen=True)
class SimilarityBand:
    floor: float
    confident: float


# Measured for all-MiniLM-L6-v2 (sentence-transformers and ONNX share the name and the vectors):
# on-topic questions' best passage scores 0.35-0.8, off-topic ones 0.15-0.43 on a 5,000-chunk bot.
BANDS: dict[str, SimilarityBand] = {MINILM: SimilarityBand(floor=0.35, confident=0.45)}
MAX_UNKNOWN_SHARE = 0.3
# Below this many live chunks a knowledge base's vocabulary says little about what it covers: with one
# chunk, any ordinary word it happens not to use ("How *long* is the warranty?") would weigh ~5x a word
# it does use, and a small bot could answer almost nothing. The similarity floor alone decides there —
# the many loosely similar chunks the unknown-share test guards against only exist in large bots — but
# only for an embedder whose similarity scale was measured (a band): elsewhere the floor means little.
MIN_VOCABULARY_CHUNKS = 50


@dataclass(frozen=True)
class AnswerPolicy:
    """The thresholds of one decision. ``confident=None`` disables the similarity-only shortcut."""

    floor: float
    confident: float | None
    max_unknown_share: float
    passage_floor: float

    @classmethod
    def for_bot(cls, *, embedding_model: str, relevance_threshold: float) -> AnswerPolicy:
        """The embedder's measured band, the floor raised to the bot's threshold if that is higher.

        An embedder without a measured band (a test fake, Gemini) answers on the bot's threshold
        plus the unknown-share test only.
        """
        band = BANDS.get(embedding_model)
        floor = max(band.floor if band else relevance_threshold, relevance_threshold)
        confident = max(band.confident, floor) if band else None
        return cls(
            floor=floor,
            confident=confident,
            max_unknown_share=MAX_UNKNOWN_SHARE,
            passage_floor=relevance_threshold,
        )

    @classmethod
    def baseline(cls, relevance_threshold: float) -> AnswerPolicy:
        """The rule before this module: answer whenever a passage scores ``>= relevance_threshold``."""
        return cls(
            floor=relevance_threshold,
            confident=relevance_threshold,
            max_unknown_share=1.0,
            passage_floor=relevance_threshold,
        )


@dataclass(frozen=True)
class Assessment:
    answerable: bool
    passages: list[Passage]  # the ones to hand to the model (empty when not answerable)
    similarity: float | None  # the best passage's cosine similarity
    unknown_share: float
    reason: str


def idf(n: int, total: int) -> float:
    """BM25's inverse document frequency of a word found in ``n`` of ``total`` chunks (> 0)."""
    return math.log(1 + (total - n + 0.5) / (n + 0.5))


def unknown_share(counts: Mapping[str, int], total: int) -> float:
    """IDF-weighted share of the words (``word -> chunks containing it``) no chunk contains."""
    if not counts or total <= 0:
        return 1.0 if counts else 0.0
    weights = {word: idf(n, total) for word, n in counts.items()}
    return sum(w for word, w in weights.items() if counts[word] == 0) / sum(weights.values())


def assess(
    *, passages: Sequence[Passage], counts: Mapping[str, int], total: int, policy: AnswerPolicy
) -> Assessment:
    """Decide whether ``passages`` can answer a question whose words occur in ``counts`` of ``total``
    live chunks (``documents.lexical.document_frequencies``)."""
    usable = [p for p in passages if p.similarity is None or p.similarity >= policy.passage_floor]
    similarities = [p.similarity for p in passages if p.similarity is not None]
    best = max(similarities) if similarities else None
    unknown = unknown_share(counts, total)

    def verdict(answerable: bool, reason: str) -> Assessment:
        return Assessment(answerable, usable if answerable else [], best, round(unknown, 4), reason)

    if not usable:
        return verdict(False, "no passage was found above the bot's relevance threshold")
    if best is not None and policy.confident is not None and best >= policy.confident:
        return verdict(True, "a passage is confidently similar to the question")
    if best is None or best < policy.floor:
        return verdict(False, "no passage is similar enough to the question")
    small = total < MIN_VOCABULARY_CHUNKS and policy.confident is not None
    if unknown > policy.max_unknown_share and not small:
        return verdict(False, "the question's key words do not occur in the knowledge base")
    return verdict(True, "similar passages share the question's key words")


# How models say they cannot answer from the passages (the grounding rules ask them to say so).
_DECLINE_RE = re.compile(
    r"\b(?:"
    r"i (?:do not|don't|don’t) (?:know|have (?:enough |any )?information)"
    r"|i(?: am|'m|’m) (?:not sure|unable to|sorry)"
    r"|i (?:could not|couldn't|couldn’t|cannot|can't|can’t) (?:find|answer|tell|say|determine)"
    r"|(?:is|are) not (?:mentioned|covered|included|contained|specified|described|provided|available|stated)"
    r"|(?:does|do) not (?:contain|mention|cover|include|say|specify|describe|provide|state)"
    r"|(?:doesn't|don't|doesn’t|don’t) (?:contain|mention|cover|include|say|specify|describe|provide|state)"
    r"|no (?:information|mention|details?) (?:about|on|of|regarding)"
    r"|unable to (?:find|answer|determine)"
    r")\b",
    re.IGNORECASE,
)
_FIRST_SENTENCE_RE = re.compile(r"^.*?(?:[.!?](?=\s|$)|\n|$)", re.DOTALL)


_CONTRAST_RE = re.compile(r"\b(?:but|however|although|though|yet|instead)\b", re.IGNORECASE)


def declines_to_answer(text: str) -> bool:
    """Whether an answer opens by saying it cannot answer ("I don't know…", "The passages do not
    mention…", "Sorry, but I couldn't find that [1]."). A first sentence that goes on to answer
    after the admission ("X is not covered, but Y is [1].") answers Y."""
    first = _FIRST_SENTENCE_RE.match(text.strip())
    declines = list(_DECLINE_RE.finditer(first.group(0))) if first else []
    return bool(declines) and not _CONTRAST_RE.search(first.group(0)[declines[-1].end() :])

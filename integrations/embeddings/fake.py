"""A deterministic, dependency-free embedder for tests, CI and offline development.

``FakeEmbedder`` hashes lower-cased word unigrams and bigrams into ``dim`` signed buckets (the
"hashing trick") and L2-normalises the result. It knows nothing about meaning, but texts that share
words share buckets, so a question scores higher against a passage that uses its words than against
an unrelated one — enough for retrieval tests to be meaningful. It is stable across processes and
machines: tokens are hashed with BLAKE2b, not Python's per-process salted ``hash()``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from integrations import metering

from .base import empty_embeddings

_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Bigrams carry word order ("dog bites man" vs "man bites dog") but are rarer matches; half weight
# keeps a shared unigram the dominant signal.
_BIGRAM_WEIGHT = 0.5
# A text without any word still gets a unit vector (the contract), always the same one.
_EMPTY_TOKEN = "\x00empty"


@lru_cache(maxsize=65536)
def _bucket(token: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    # The lowest bit picks the sign so that unrelated tokens colliding in a bucket tend to cancel
    # instead of adding up to a spurious similarity.
    return (value >> 1) % dim, (1.0 if value & 1 else -1.0)


class FakeEmbedder:
    """Hashed bag of unigrams + bigrams; ``name`` is ``fake-hash-<dim>``."""

    def __init__(self, dim: int = 384) -> None:
        if dim < 2:
            raise ValueError(f"dim must be at least 2, got {dim}")
        self.dim = dim
        self.name = f"fake-hash-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return empty_embeddings(self.dim)
        metering.add("embeddings_computed", len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD_RE.findall(text.lower())
            features: list[tuple[str, float]] = [(w, 1.0) for w in words]
            features += [(f"{a} {b}", _BIGRAM_WEIGHT) for a, b in zip(words, words[1:], strict=False)]
            if not features:
                features = [(_EMPTY_TOKEN, 1.0)]
            for token, weight in features:
                bucket, sign = _bucket(token, self.dim)
                out[row, bucket] += sign * weight
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                # Every feature cancelled out (vanishingly rare); fall back to the empty-text vector.
                bucket, sign = _bucket(_EMPTY_TOKEN, self.dim)
                out[row, bucket] = sign
                norm = 1.0
            out[row] /= norm
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one text; returns shape ``(dim,)``."""
        return self.embed([text])[0]

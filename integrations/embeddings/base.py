"""The embedding interface.

Contract shared by every ``Embedder``:

- ``embed(texts)`` returns a float32 array of shape ``(len(texts), dim)`` whose rows are L2-normalised,
  in the order of ``texts``; an empty input returns shape ``(0, dim)``.
- ``name`` identifies the model (and its output size where that is configurable); it is recorded on
  each indexed document so that vectors from different models are never compared.
- ``embed_query(text)`` embeds one search question, shape ``(dim,)``. Symmetric models return
  ``embed([text])[0]``; asymmetric ones (Gemini) encode questions differently from passages, which is
  why retrieval always calls this for the question and ``embed`` for passages.
- Embedding the same text twice gives the same vector (up to float rounding for neural models).
- Each call reports ``embeddings_computed`` (and ``embedding_tokens`` where the model knows them) to
  :mod:`integrations.metering`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as unit-length float32 rows, shape ``(len(texts), dim)``."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search question as a unit-length float32 vector, shape ``(dim,)``."""
        ...


def empty_embeddings(dim: int) -> np.ndarray:
    """The ``(0, dim)`` float32 array every embedder returns for an empty input."""
    return np.zeros((0, dim), dtype=np.float32)


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    """Scale each row of ``matrix`` to unit length as float32; all-zero rows stay zero."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)

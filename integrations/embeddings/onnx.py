"""all-MiniLM-L6-v2 on ONNX Runtime: the torch-free embedder for AWS Lambda.

torch alone is ~750 MB installed, far past Lambda's 250 MB unzipped limit for a zip package. This module
reproduces the sentence-transformers pipeline (BERT tokenizer, transformer, mean pooling over the attention
mask, L2 normalisation) with three small dependencies: ``onnxruntime``, ``tokenizers`` and ``numpy``.
The ONNX graph and tokenizer are produced at build time by ``scripts/export_onnx.py``; at run time this
module never imports torch, transformers or sentence-transformers.

The shipped graph stores its weights as float16 (45 MB instead of 90 MB) behind Casts that ONNX Runtime
folds at load, so inference is fp32. Vectors match the sentence-transformers embedder to cosine >= 0.999
(measured min 0.9999998; proved by ``tests/integrations/test_embeddings_onnx.py``), so both share one
``name`` and switching runtime does not force a re-index.

Tokenizer ``encode_batch`` and ``InferenceSession.run`` are thread-safe; the loaded runtime is shared.

Model directory, first match wins: the ``model_dir`` argument, Django setting ``ONNX_MODEL_DIR``, env var
``ONNX_MODEL_DIR``, then ``<project root>/build/minilm-onnx``. Thread count: ``intra_op_num_threads``
argument, setting/env ``ONNX_INTRA_OP_THREADS``, else ONNX Runtime's default (one per physical core).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from integrations import metering

from .base import empty_embeddings

# The sentence-transformers embedder's name and size, imported (minilm.py imports no torch at module level)
# so the two can never drift: stored vectors are tagged with the name, and the runtimes are interchangeable
# only because their vectors agree (cosine >= 0.999, see module docstring).
from .minilm import DIM as MINILM_DIM
from .minilm import MODEL_NAME as MINILM_EMBEDDER_NAME

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "embedder_config.json"

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Resolved from this file, not the working directory: Zappa's slim handler unpacks the project under /tmp.
DEFAULT_MODEL_DIR = PROJECT_ROOT / "build" / "minilm-onnx"

_LOAD_LOCK = threading.Lock()


class OnnxModelMissingError(FileNotFoundError):
    """The exported ONNX model directory is absent or incomplete."""


@dataclass(frozen=True)
class _Runtime:
    """One loaded model per (directory, thread count) per process; immutable so threads can share it."""

    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer, truncation and padding already configured
    input_names: frozenset[str]
    dim: int
    max_seq_length: int


def _setting(name: str) -> str | None:
    """Django setting if Django is configured, else the environment variable of the same name.

    Django is imported lazily and optionally so the module stays usable from plain scripts and benches.
    """
    try:
        from django.conf import settings

        if settings.configured:
            value = getattr(settings, name, None)
            if value not in (None, ""):
                return str(value)
    except ImportError:
        pass
    return os.environ.get(name) or None


def resolve_model_dir(model_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the model directory by the precedence documented in the module docstring."""
    if model_dir is not None:
        return Path(model_dir)
    configured = _setting("ONNX_MODEL_DIR")
    return Path(configured) if configured else DEFAULT_MODEL_DIR


def _load_runtime(model_dir: Path, intra_op_num_threads: int) -> _Runtime:
    missing = [f for f in (MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE) if not (model_dir / f).is_file()]
    if missing:
        raise OnnxModelMissingError(
            f"ONNX embedder files {missing} not found in {model_dir}. Build them with "
            "`python scripts/export_onnx.py --output <dir>` (needs torch, build time only) or point "
            "ONNX_MODEL_DIR at an exported directory."
        )
    import onnxruntime as ort
    from tokenizers import Tokenizer

    config = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    if config.get("pooling") != "mean" or not config.get("normalize"):
        raise ValueError(f"{model_dir / CONFIG_FILE} describes {config!r}; this runtime only does mean+L2.")
    max_seq_length = int(config["max_seq_length"])

    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    # tokenizer.json ships with truncation at 128 and fixed padding to 128; sentence-transformers overrides
    # both with max_seq_length (256) and pad-to-longest, so we must too or long texts embed differently.
    tokenizer.enable_truncation(max_length=max_seq_length)
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_num_threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(
        str(model_dir / MODEL_FILE), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return _Runtime(
        session=session,
        tokenizer=tokenizer,
        input_names=frozenset(i.name for i in session.get_inputs()),
        dim=int(config["dim"]),
        max_seq_length=max_seq_length,
    )


@lru_cache(maxsize=4)
def _cached_runtime(model_dir: str, intra_op_num_threads: int) -> _Runtime:
    return _load_runtime(Path(model_dir), intra_op_num_threads)


def _runtime(model_dir: Path, intra_op_num_threads: int) -> _Runtime:
    # The lock keeps two threads of one warm Lambda container from both paying the ~0.3 s session load.
    with _LOAD_LOCK:
        return _cached_runtime(str(model_dir.resolve()), intra_op_num_threads)


def mean_pool_normalize(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average token vectors where the mask is 1, then scale each row to unit length.

    Mirrors sentence-transformers' Pooling(mean) + Normalize, including their epsilons (1e-9 on the token
    count, 1e-12 on the norm) so all-padding rows come out as zeros instead of NaN.
    """
    mask = attention_mask.astype(np.float32)[:, :, None]
    summed = (token_embeddings.astype(np.float32) * mask).sum(axis=1)
    counts = np.clip(mask.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return (pooled / norms).astype(np.float32)


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 via ONNX Runtime; satisfies the ``Embedder`` protocol.

    Contract: ``embed(texts)`` returns a float32 array of shape ``(len(texts), 384)`` whose rows have unit
    L2 norm, in input order. Texts longer than 256 word pieces are truncated, as sentence-transformers does.
    Construction is cheap; the ONNX session loads on the first ``embed`` and is shared process-wide.
    """

    name = MINILM_EMBEDDER_NAME
    dim = MINILM_DIM

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 32,
        *,
        intra_op_num_threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model_dir = resolve_model_dir(model_dir)
        self.batch_size = batch_size
        if intra_op_num_threads is None:
            configured = _setting("ONNX_INTRA_OP_THREADS")
            intra_op_num_threads = int(configured) if configured else 0  # 0 = ONNX Runtime decides
        self.intra_op_num_threads = intra_op_num_threads

    def _loaded(self) -> _Runtime:
        runtime = _runtime(self.model_dir, self.intra_op_num_threads)
        if runtime.dim != self.dim:
            raise ValueError(f"{self.model_dir} holds a {runtime.dim}-dim model, expected {self.dim}.")
        return runtime

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        if len(texts) == 0:
            return empty_embeddings(self.dim)
        metering.add("embeddings_computed", len(texts))
        runtime = self._loaded()
        cleaned = [str(t).strip() for t in texts]
        # Batch texts of similar length together so short texts are not padded to the longest one.
        order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]), reverse=True)
        out = np.empty((len(cleaned), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._embed_batch(runtime, [cleaned[i] for i in idx])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one text; returns shape ``(dim,)``."""
        return self.embed([text])[0]

    @staticmethod
    def _embed_batch(runtime: _Runtime, batch: list[str]) -> np.ndarray:
        encodings = runtime.tokenizer.encode_batch(batch)
        input_ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in runtime.input_names:
            feeds["token_type_ids"] = np.asarray([e.type_ids for e in encodings], dtype=np.int64)
        (token_embeddings,) = runtime.session.run(["last_hidden_state"], feeds)
        return mean_pool_normalize(token_embeddings, attention_mask)

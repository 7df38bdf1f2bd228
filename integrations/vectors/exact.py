"""Exact (brute-force) nearest-neighbour search and the vector encodings the stores share.

Pure numpy, no Django and no AWS: the relational-database store and the DynamoDB store both score
with :func:`top_k` and both store vectors with the helpers below, so a vector written by one can be
read by the other and scores agree to the last bit for float32.

Contracts

- Vectors are ``float32`` and L2-normalised by the embedder, so cosine similarity is a dot product.
- :func:`top_k` returns the best ``k`` rows by score, descending; equal scores are ordered by row
  index, ascending. Stores lay rows out in ``(document_id, ordinal)`` order, which makes that the
  tie-break the ``VectorStore`` contract asks for.
- Byte encodings are little-endian regardless of the host, so stored bytes are portable.
- int8 quantisation is symmetric with one float32 scale per vector: ``v ≈ q * scale`` with ``q`` in
  ``[-127, 127]``. For a unit vector the rounding error per component is at most ``scale / 2``
  (``≤ max|v| / 254``), which moves cosine scores by ~1e-3 — small next to the gaps between
  relevant and irrelevant passages, and the recall test/benchmark hold it to ≥ 0.99 recall@10.
"""

from __future__ import annotations

import numpy as np

FLOAT32_LE = np.dtype("<f4")
INT8 = np.dtype("i1")


def top_k(
    matrix: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(indices, scores)`` of the ``k`` rows of ``matrix`` most similar to ``query``.

    ``matrix`` is ``(n, d)``, ``query`` is ``(d,)``; ``mask`` (``(n,)`` bool), when given, excludes
    rows where it is False. Fewer than ``k`` results come back when fewer rows qualify. Scores are
    ``matrix @ query`` as float32; indices are int64 positions in ``matrix``.

    One matrix-vector product and an ``argpartition`` (O(n)) do the work; only the ``k`` winners
    (plus exact ties at the boundary, so the result is deterministic) are sorted.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    matrix = np.asarray(matrix)
    n = matrix.shape[0] if matrix.ndim == 2 else 0
    if k == 0 or n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    query = np.asarray(query, dtype=matrix.dtype if matrix.dtype == np.float32 else np.float32)
    if query.shape != (matrix.shape[1],):
        raise ValueError(f"query has shape {query.shape}, expected ({matrix.shape[1]},)")

    scores = matrix @ query
    if scores.dtype != np.float32:
        scores = scores.astype(np.float32)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (n,):
            raise ValueError(f"mask has shape {mask.shape}, expected ({n},)")
        valid = int(np.count_nonzero(mask))
        if valid == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        # -inf can never beat a real score, so masked rows fall out of the partition below.
        scores[~mask] = -np.inf
    else:
        valid = n
    k = min(k, valid)

    if k < n:
        # argpartition on the negated scores puts the k largest first, in no particular order.
        part = np.argpartition(-scores, k - 1)[:k]
        threshold = scores[part].min()
        # Rows tied with the k-th score are equally good; which of them argpartition kept is an
        # implementation detail, so collect all of them and let the sort below pick by index.
        # The comparison is one cheap vectorised pass and keeps results reproducible.
        candidates = np.flatnonzero(scores >= threshold)
    else:
        candidates = np.flatnonzero(scores > -np.inf) if mask is not None else np.arange(n)
    cand_scores = scores[candidates]
    order = np.lexsort((candidates, -cand_scores))[:k]
    indices = candidates[order].astype(np.int64, copy=False)
    return indices, cand_scores[order]


def check_dimension(query: np.ndarray, matrix: np.ndarray) -> None:
    """Raise a clear error when stored vectors and the query come from models of different sizes."""
    if matrix.ndim == 2 and matrix.shape[0] and matrix.shape[1] != query.shape[0]:
        raise ValueError(
            f"query has dimension {query.shape[0]} but stored vectors have {matrix.shape[1]}; "
            "was the bot indexed with another embedder?"
        )


# --- float32 ---------------------------------------------------------------------------------


def pack_float32(vectors: np.ndarray) -> bytes:
    """Encode one vector ``(d,)`` or a matrix ``(n, d)`` as little-endian float32 bytes, row-major."""
    return np.ascontiguousarray(vectors, dtype=FLOAT32_LE).tobytes()


def unpack_float32(data: bytes, dim: int) -> np.ndarray:
    """Decode bytes from :func:`pack_float32` into a native float32 ``(n, dim)`` matrix.

    The result is a fresh, writable array (the stores hand it straight to :func:`top_k`).
    """
    if len(data) % (4 * dim):
        raise ValueError(f"{len(data)} bytes is not a whole number of float32 vectors of dim {dim}")
    return np.frombuffer(data, dtype=FLOAT32_LE).astype(np.float32).reshape(-1, dim)


# --- int8 ------------------------------------------------------------------------------------


def quantize_int8(vector: np.ndarray) -> tuple[bytes, float]:
    """Quantise one vector to ``(int8 bytes, scale)`` with ``vector ≈ q * scale``."""
    data, scales = quantize_int8_matrix(np.asarray(vector, dtype=np.float32).reshape(1, -1))
    return data, float(scales[0])


def quantize_int8_matrix(matrix: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Quantise each row of ``(n, d)`` symmetrically; returns ``(n*d int8 bytes, (n,) float32 scales)``.

    The scale is ``max|row| / 127`` so the largest component maps to ±127 exactly; an all-zero row
    gets scale 0 and decodes to zeros.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a (n, d) matrix, got shape {matrix.shape}")
    max_abs = np.abs(matrix).max(axis=1) if matrix.size else np.zeros(matrix.shape[0], np.float32)
    scales = (max_abs / 127.0).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0).astype(np.float32)
    q = np.clip(np.rint(matrix / safe[:, None]), -127, 127).astype(INT8)
    return q.tobytes(), scales


def dequantize_int8(data: bytes, scale: float | np.ndarray, dim: int) -> np.ndarray:
    """Decode int8 bytes back to float32: ``(dim,)`` for a scalar scale, ``(n, dim)`` for ``(n,)`` scales."""
    q = np.frombuffer(data, dtype=INT8).astype(np.float32)
    if np.ndim(scale) == 0:
        if q.size != dim:
            raise ValueError(f"{q.size} int8 values do not make one vector of dim {dim}")
        return q * np.float32(scale)
    scales = np.asarray(scale, dtype=np.float32)
    if q.size != scales.size * dim:
        raise ValueError(f"{q.size} int8 values do not make {scales.size} vectors of dim {dim}")
    return q.reshape(-1, dim) * scales[:, None]


def pack_scales(scales: np.ndarray) -> bytes:
    """Encode per-vector int8 scales as little-endian float32 bytes."""
    return np.ascontiguousarray(scales, dtype=FLOAT32_LE).tobytes()


def unpack_scales(data: bytes) -> np.ndarray:
    """Decode scales written by :func:`pack_scales`."""
    return np.frombuffer(data, dtype=FLOAT32_LE).astype(np.float32)

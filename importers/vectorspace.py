"""Are a collection's vectors in the space of Botwright's embedder? Django-free, numpy only.

The test: embed a sample of the passages with the current embedder and compare with the vectors
the source stored for them. The same model gives cosines of ~1.0 (float rounding, a different
runtime); a different model gives vectors whose coordinates mean something else (~0.0), even at the
same dimension. Searching such vectors with our query embeddings would return confident nonsense.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAME_SPACE_MIN_COSINE = 0.99


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); zero rows stay zero."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32, copy=False)


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(unit_rows(a) * unit_rows(b), axis=1)


@dataclass(frozen=True)
class SpaceCheck:
    passed: bool
    sampled: int
    median_cosine: float | None
    min_cosine: float | None
    reason: str = ""


def check_same_space(
    *,
    source: np.ndarray,
    embedded: np.ndarray,
    source_label: str,
    embedder_label: str,
    threshold: float = SAME_SPACE_MIN_COSINE,
) -> SpaceCheck:
    """Compare source vectors with fresh embeddings of the same passages (row i with row i)."""
    if source.shape[1] != embedded.shape[1]:
        return SpaceCheck(
            False,
            len(source),
            None,
            None,
            f"{source_label} holds {source.shape[1]}-dimensional vectors; {embedder_label} makes "
            f"{embedded.shape[1]}-dimensional ones.",
        )
    if len(source) == 0:
        return SpaceCheck(False, 0, None, None, f"{source_label} has no point with text to compare.")
    cosines = row_cosines(source, embedded)
    median, minimum = float(np.median(cosines)), float(np.min(cosines))
    if median < threshold:
        return SpaceCheck(
            False,
            len(source),
            round(median, 6),
            round(minimum, 6),
            f"the vectors of {source_label} are not in the space of {embedder_label}: the same passages "
            f"embedded with {embedder_label} have a median cosine of {median:.3f} with them (at least "
            f"{threshold} needed), so the source was embedded by another model or from other text.",
        )
    return SpaceCheck(True, len(source), round(median, 6), round(minimum, 6))

"""The exact-search core and vector encodings shared by the vector stores."""

from __future__ import annotations

import numpy as np
import pytest

from integrations.vectors import exact


def _unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1, 5, 37, 500])
def test_top_k_matches_a_full_sort_of_the_scores(k):
    matrix = _unit_rows(500)
    query = _unit_rows(1, seed=1)[0]
    indices, scores = exact.top_k(matrix, query, k)
    full = matrix @ query
    expected = np.argsort(-full, kind="stable")[:k]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(scores, full[expected])
    assert scores.dtype == np.float32 and indices.dtype == np.int64


def test_top_k_returns_everything_sorted_when_k_exceeds_the_rows():
    matrix = _unit_rows(7)
    indices, scores = exact.top_k(matrix, matrix[3], 50)
    assert len(indices) == 7
    assert indices[0] == 3
    assert np.all(np.diff(scores) <= 0)


def test_top_k_excludes_masked_rows():
    matrix = _unit_rows(100)
    query = matrix[10]
    mask = np.ones(100, dtype=bool)
    mask[10] = False
    mask[::2] = False
    indices, scores = exact.top_k(matrix, query, 60, mask)
    assert 10 not in indices
    assert all(i % 2 == 1 for i in indices)
    assert len(indices) == 50  # only 50 rows qualify
    assert np.all(np.isfinite(scores))


def test_top_k_with_nothing_to_return_is_empty():
    matrix = _unit_rows(5)
    assert exact.top_k(matrix, matrix[0], 0)[0].size == 0
    assert exact.top_k(matrix, matrix[0], 3, np.zeros(5, dtype=bool))[0].size == 0
    assert exact.top_k(np.zeros((0, 32), np.float32), matrix[0], 3)[0].size == 0


def test_top_k_breaks_ties_by_row_index():
    # Rows 1, 3, 4 and 6 score exactly the same; only two of them fit in the top 3.
    matrix = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8], [1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
    indices, _ = exact.top_k(matrix.astype(np.float32), np.array([1.0, 0.0], np.float32), 2)
    np.testing.assert_array_equal(indices, [1, 3])
    indices, _ = exact.top_k(matrix.astype(np.float32), np.array([1.0, 0.0], np.float32), 5)
    np.testing.assert_array_equal(indices, [1, 3, 4, 6, 2])


def test_top_k_rejects_a_query_of_the_wrong_dimension():
    with pytest.raises(ValueError, match="shape"):
        exact.top_k(_unit_rows(4, dim=8), np.ones(9, np.float32), 2)


def test_float32_packing_is_little_endian_and_round_trips():
    matrix = _unit_rows(3, dim=5)
    data = exact.pack_float32(matrix)
    assert len(data) == 3 * 5 * 4
    assert exact.pack_float32(np.array([1.0], np.float32)) == b"\x00\x00\x80\x3f"
    decoded = exact.unpack_float32(data, 5)
    np.testing.assert_array_equal(decoded, matrix)
    decoded[0, 0] = 2.0  # the decoded array is writable and independent of the bytes
    with pytest.raises(ValueError):
        exact.unpack_float32(data[:-1], 5)


def test_int8_quantisation_maps_the_largest_component_to_127_and_bounds_the_error():
    vector = _unit_rows(1, dim=384, seed=3)[0]
    data, scale = exact.quantize_int8(vector)
    assert len(data) == 384
    q = np.frombuffer(data, dtype=np.int8)
    assert np.abs(q).max() == 127
    assert scale == pytest.approx(np.abs(vector).max() / 127, rel=1e-6)
    decoded = exact.dequantize_int8(data, scale, 384)
    assert np.abs(decoded - vector).max() <= scale / 2 + 1e-7


def test_int8_matrix_quantisation_matches_per_vector_and_keeps_zero_rows_zero():
    matrix = _unit_rows(4, dim=16)
    matrix[2] = 0.0
    data, scales = exact.quantize_int8_matrix(matrix)
    assert scales[2] == 0.0
    for row in (0, 1, 3):
        single, scale = exact.quantize_int8(matrix[row])
        assert data[row * 16 : (row + 1) * 16] == single
        assert scales[row] == np.float32(scale)
    decoded = exact.dequantize_int8(data, exact.unpack_scales(exact.pack_scales(scales)), 16)
    assert decoded.shape == (4, 16)
    np.testing.assert_array_equal(decoded[2], np.zeros(16, np.float32))
    np.testing.assert_allclose(decoded, matrix, atol=float(scales.max()) / 2 + 1e-7)


def test_int8_scores_differ_from_float32_by_at_most_the_rounding_bound():
    points = _unit_rows(2000, dim=384, seed=7)
    data, scales = exact.quantize_int8_matrix(points)
    decoded = exact.dequantize_int8(data, scales, 384)
    query = _unit_rows(1, dim=384, seed=9)[0]
    error = np.abs(decoded @ query - points @ query)
    # Each component is off by at most scale/2, so a score by at most scale/2 * ||query||_1.
    assert np.all(error <= scales / 2 * np.abs(query).sum() + 1e-6)
    assert error.max() < 0.01

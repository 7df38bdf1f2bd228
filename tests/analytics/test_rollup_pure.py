"""The Django-free rollup rules: latency histogram, question normal form, prices."""

from __future__ import annotations

from analytics.rollup import (
    LATENCY_BOUNDS_MS,
    LATENCY_BUCKET_COUNT,
    PriceTable,
    answer_counters,
    latency_bucket,
    latency_percentile,
    normalise,
    pseudonym,
)

PRICES = PriceTable(
    models={
        "gemini-2.5-flash": {"input": "0.30", "output": "2.50"},
        "gemini-2.5-flash-lite": {"input": "0.10", "output": "0.40"},
    },
    embeddings={"gemini-embedding-001": "0.15"},
    dynamodb_read_request_units="0.125",
)


def test_latency_buckets_cover_every_value():
    assert latency_bucket(0) == 0 and latency_bucket(100) == 0 and latency_bucket(101) == 1
    assert latency_bucket(20_000) == len(LATENCY_BOUNDS_MS) - 1
    assert latency_bucket(10**9) == LATENCY_BUCKET_COUNT - 1


def test_p95_is_interpolated_within_its_bucket_and_close_to_the_exact_value():
    latencies = list(range(10, 2010, 10))  # 200 values, exact p95 = 1900
    histogram = [0] * LATENCY_BUCKET_COUNT
    for value in latencies:
        histogram[latency_bucket(value)] += 1
    estimate = latency_percentile(histogram, 0.95)
    assert 1500 < estimate <= 2000  # inside the bucket holding the exact value
    assert abs(estimate - 1900) <= 100
    assert latency_percentile([0] * LATENCY_BUCKET_COUNT) == 0


def test_questions_group_across_case_punctuation_and_spacing():
    assert normalise("  Where is MY order?? ") == normalise("where is my order") == "where is my order"
    assert normalise("Café — opening hours!") == "café opening hours"
    assert normalise("?!") == ""


def test_prices_are_exact_integers_in_nano_usd_and_versioned_names_match():
    # 1M prompt + 1M completion tokens of flash = 0.30 + 2.50 USD
    assert PRICES.model_cost("gemini-2.5-flash", 1_000_000, 1_000_000) == 2_800_000_000
    assert PRICES.model_cost("models/gemini-2.5-flash-001", 10, 0) == 3000
    # The longer listed name wins over its prefix.
    assert PRICES.model_cost("gemini-2.5-flash-lite", 0, 1) == 400
    assert PRICES.model_cost("extractive", 10**6, 10**6) == 0
    assert PRICES.embedding_cost("google/gemini-embedding-001@384", 1_000_000) == 150_000_000
    assert PRICES.embedding_cost("sentence-transformers/all-MiniLM-L6-v2", 10**6) == 0
    # 4 KB read eventually consistent = 0.5 RRU at 0.125 USD per million = 62.5 nano-USD
    assert PRICES.vector_read_cost(4096 * 1000) == 62_500


def test_an_answer_adds_its_counters_and_cost():
    counters = answer_counters(
        unanswered=False, error="", latency_ms=250, prompt_tokens=1000, completion_tokens=100,
        model_name="gemini-2.5-flash", embeddings_computed=1, embedding_tokens=0, vector_bytes_read=1536,
        rating="up", prices=PRICES, embedder="minilm",
    )  # fmt: skip
    assert counters["assistant_messages"] == 1 and counters["rated_up"] == 1
    assert counters["latency_b02"] == 1 and counters["latency_ms_sum"] == 250
    assert counters["cost_nanousd"] == 1000 * 300 + 100 * 2500
    fallback = answer_counters(
        unanswered=True, error="", latency_ms=5, prompt_tokens=0, completion_tokens=0, model_name="",
        embeddings_computed=1, embedding_tokens=0, vector_bytes_read=0, rating="",
        prices=PRICES, embedder="x",
    )  # fmt: skip
    assert fallback["fallback_answers"] == 1 and "model_errors" not in fallback


def test_pseudonyms_hide_the_visitor_token():
    assert pseudonym("v_secret-token-123456").startswith("visitor-")
    assert "secret" not in pseudonym("v_secret-token-123456") and pseudonym("") == ""

"""Embedders: the fake's determinism and signal, the getter, Gemini against a fake HTTP server, MiniLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import django.conf
import numpy as np
import pytest

from integrations import metering
from integrations.embeddings import FakeEmbedder, get_embedder, reset_embedders
from integrations.embeddings.base import Embedder
from integrations.embeddings.gemini import EmbeddingUnavailable, GeminiEmbedder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_embedder_cache() -> Iterator[None]:
    reset_embedders()
    yield
    reset_embedders()


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


# --- FakeEmbedder ------------------------------------------------------------------------------


def test_fake_embedder_returns_unit_float32_rows_in_input_order():
    embedder = FakeEmbedder()
    texts = ["Refunds are issued within 14 days.", "Our office is in Lisbon.", "refunds"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(vectors[1], embedder.embed(["Our office is in Lisbon."])[0])
    assert isinstance(embedder, Embedder)
    assert embedder.name == "fake-hash-384"


def test_fake_embedder_empty_input_is_zero_by_dim():
    vectors = FakeEmbedder(dim=64).embed([])
    assert vectors.shape == (0, 64)
    assert vectors.dtype == np.float32


def test_fake_embedder_gives_texts_without_words_a_unit_vector():
    vectors = FakeEmbedder().embed(["", "   ", "!!!"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_fake_embedder_rejects_a_bare_string():
    with pytest.raises(TypeError):
        FakeEmbedder().embed("one text")


def test_fake_embedder_is_case_insensitive_and_deterministic_across_instances():
    a = FakeEmbedder().embed(["Reset the PASSWORD"])
    b = FakeEmbedder().embed(["reset the password"])
    np.testing.assert_array_equal(a, b)


def test_fake_embedder_is_stable_across_processes_with_different_hash_seeds():
    # Python's hash() is salted per process; the fake must not depend on it.
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from integrations.embeddings.fake import FakeEmbedder\n"
        "sys.stdout.write(FakeEmbedder().embed(['hello wide world']).tobytes().hex())\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    assert bytes.fromhex(outputs.pop()) == FakeEmbedder().embed(["hello wide world"]).tobytes()


def test_fake_embedder_scores_shared_words_above_unrelated_text():
    embedder = FakeEmbedder()
    question, relevant, unrelated = embedder.embed(
        [
            "How do I reset my password?",
            "To reset your password, open Settings and choose Reset password.",
            "Quarterly revenue grew by ten percent in the northern region.",
        ]
    )
    assert _cos(question, relevant) > _cos(question, unrelated) + 0.2


def test_fake_embedder_word_order_changes_the_vector_through_bigrams():
    a, b = FakeEmbedder().embed(["dog bites man", "man bites dog"])
    assert 0.5 < _cos(a, b) < 0.999


# --- get_embedder ------------------------------------------------------------------------------


def test_get_embedder_builds_each_name_once_per_process():
    first = get_embedder("fake")
    assert isinstance(first, FakeEmbedder)
    assert get_embedder("fake") is first
    assert get_embedder(" FAKE ") is first


def test_get_embedder_reads_the_setting_when_no_name_is_given(monkeypatch):
    monkeypatch.setattr(django.conf, "settings", SimpleNamespace(EMBEDDER="fake"))
    assert isinstance(get_embedder(), FakeEmbedder)


def test_get_embedder_rejects_unknown_names_listing_the_choices():
    with pytest.raises(ValueError, match="minilm, onnx, sentence-transformers, gemini, fake"):
        get_embedder("word2vec")


def test_minilm_is_the_onnx_runtime_and_onnx_is_the_same_embedder():
    from integrations.embeddings.onnx import OnnxMiniLMEmbedder

    minilm = get_embedder("minilm")
    assert isinstance(minilm, OnnxMiniLMEmbedder)
    assert get_embedder("onnx") is minilm  # the former Lambda-only name keeps working
    assert minilm.name == "sentence-transformers/all-MiniLM-L6-v2"  # unchanged: no re-index on switching


def test_every_embedder_implements_the_whole_protocol_including_embed_query():
    from integrations.embeddings.minilm import SentenceTransformersEmbedder
    from integrations.embeddings.onnx import OnnxMiniLMEmbedder

    embedders = [
        FakeEmbedder(),
        OnnxMiniLMEmbedder(model_dir="unused"),
        SentenceTransformersEmbedder(),
        GeminiEmbedder("key", "gemini-embedding-001", 384, client=SimpleNamespace()),
    ]
    for embedder in embedders:
        assert isinstance(embedder, Embedder), type(embedder).__name__
        assert callable(embedder.embed_query)

    # The protocol itself names it, so a new embedder without it fails the isinstance check.
    class EmbedOnly:
        name, dim = "x", 2

        def embed(self, texts):
            return np.zeros((len(texts), 2), np.float32)

    assert not isinstance(EmbedOnly(), Embedder)


def test_fake_embedder_meters_embeddings_computed():
    with metering.collect() as meter:
        FakeEmbedder().embed(["a", "b", "c"])
        FakeEmbedder().embed_query("d")
        FakeEmbedder().embed([])
    assert meter["embeddings_computed"] == 4


def test_get_embedder_builds_gemini_from_settings(settings):
    # The model and dimension are the settings' defaults (config/settings), not the embedder's.
    settings.EMBEDDER, settings.GEMINI_API_KEY = "gemini", "key-123"
    embedder = get_embedder()
    assert isinstance(embedder, GeminiEmbedder)
    assert embedder.dim == 384
    assert embedder.name == "google/gemini-embedding-001@384"


def test_get_embedder_refuses_gemini_without_an_api_key(monkeypatch):
    monkeypatch.setattr(django.conf, "settings", SimpleNamespace(EMBEDDER="gemini", GEMINI_API_KEY=""))
    with pytest.raises(ValueError, match="GEMINI_API_KEY"):
        get_embedder()


# --- GeminiEmbedder against a local fake of the Gemini API ---------------------------------------


class _FakeGemini:
    """Serves ``:batchEmbedContents`` on 127.0.0.1; the vector of text ``t`` is ``vector_for(t)``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict]] = []
        self.status = 200
        self.dim_returned: int | None = None
        self.drop_last = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if fake.status != 200:
                    payload = {
                        "error": {"code": fake.status, "message": "bad request", "status": "INVALID_ARGUMENT"}
                    }
                else:
                    embeddings = []
                    for request in body["requests"]:
                        dim = fake.dim_returned or request["outputDimensionality"]
                        embeddings.append(
                            {"values": fake.vector_for(request["content"]["parts"][0]["text"], dim)}
                        )
                    if fake.drop_last:
                        embeddings.pop()
                    payload = {"embeddings": embeddings}
                raw = json.dumps(payload).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @staticmethod
    def vector_for(text: str, dim: int) -> list[float]:
        # Deliberately not unit length (like truncated Matryoshka outputs), and distinct per text.
        seed = sum(text.encode())
        return [float((seed + i) % 7 + 1) for i in range(dim)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def fake_gemini() -> Iterator[_FakeGemini]:
    fake = _FakeGemini()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _gemini(fake: _FakeGemini, **kwargs) -> GeminiEmbedder:
    from google.genai import types

    return GeminiEmbedder(
        "test-key",
        "gemini-embedding-001",
        8,
        http_options=types.HttpOptions(base_url=fake.base_url),
        **kwargs,
    )


def test_gemini_embedder_sends_batch_embed_contents_and_renormalises(fake_gemini):
    vectors = _gemini(fake_gemini).embed(["alpha", "beta"])

    assert len(fake_gemini.requests) == 1
    path, headers, body = fake_gemini.requests[0]
    assert path.endswith("/models/gemini-embedding-001:batchEmbedContents")
    assert headers["x-goog-api-key"] == "test-key"
    assert [r["content"]["parts"][0]["text"] for r in body["requests"]] == ["alpha", "beta"]
    assert {r["taskType"] for r in body["requests"]} == {"RETRIEVAL_DOCUMENT"}
    assert {r["outputDimensionality"] for r in body["requests"]} == {8}
    assert {r["model"] for r in body["requests"]} == {"models/gemini-embedding-001"}

    assert vectors.shape == (2, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    for row, text in zip(vectors, ["alpha", "beta"], strict=True):
        raw = np.asarray(_FakeGemini.vector_for(text, 8), dtype=np.float32)
        np.testing.assert_allclose(row, raw / np.linalg.norm(raw), rtol=1e-6)


def test_gemini_embedder_splits_large_inputs_into_batches_of_100(fake_gemini):
    texts = [f"passage number {i}" for i in range(150)]
    with metering.collect() as meter:
        vectors = _gemini(fake_gemini).embed(texts)
    assert meter["embeddings_computed"] == 150
    assert [len(body["requests"]) for _, _, body in fake_gemini.requests] == [100, 50]
    assert vectors.shape == (150, 8)
    expected = np.asarray(_FakeGemini.vector_for(texts[120], 8), dtype=np.float32)
    np.testing.assert_allclose(vectors[120], expected / np.linalg.norm(expected), rtol=1e-6)


def test_gemini_embed_query_uses_the_retrieval_query_task(fake_gemini):
    vector = _gemini(fake_gemini).embed_query("where is the office?")
    assert vector.shape == (8,)
    assert fake_gemini.requests[0][2]["requests"][0]["taskType"] == "RETRIEVAL_QUERY"


def test_gemini_embedder_sends_nothing_for_empty_input(fake_gemini):
    assert _gemini(fake_gemini).embed([]).shape == (0, 8)
    assert fake_gemini.requests == []


def test_gemini_embedder_truncates_full_length_outputs_to_the_requested_dimension(fake_gemini):
    fake_gemini.dim_returned = 12
    vector = _gemini(fake_gemini).embed(["alpha"])[0]
    raw = np.asarray(_FakeGemini.vector_for("alpha", 12)[:8], dtype=np.float32)
    np.testing.assert_allclose(vector, raw / np.linalg.norm(raw), rtol=1e-6)


def test_gemini_embedder_rejects_too_short_embeddings(fake_gemini):
    fake_gemini.dim_returned = 4
    with pytest.raises(EmbeddingUnavailable, match="4-dimensional"):
        _gemini(fake_gemini).embed(["alpha"])


def test_gemini_embedder_rejects_a_response_with_missing_embeddings(fake_gemini):
    fake_gemini.drop_last = True
    with pytest.raises(EmbeddingUnavailable, match="1 embeddings for 2 texts"):
        _gemini(fake_gemini).embed(["alpha", "beta"])


def test_gemini_embedder_wraps_api_errors(fake_gemini):
    fake_gemini.status = 400
    with pytest.raises(EmbeddingUnavailable, match="400"):
        _gemini(fake_gemini).embed(["alpha"])


def test_gemini_embedder_uses_an_injected_client():
    calls = []

    class _Models:
        def embed_content(self, *, model, contents, config):
            calls.append((model, list(contents), config.task_type, config.output_dimensionality))
            return SimpleNamespace(embeddings=[SimpleNamespace(values=[3.0, 4.0]) for _ in contents])

    embedder = GeminiEmbedder(
        "", model="gemini-embedding-001", dim=2, client=SimpleNamespace(models=_Models())
    )
    vectors = embedder.embed(["a", ""])
    assert calls == [("gemini-embedding-001", ["a", " "], "RETRIEVAL_DOCUMENT", 2)]
    np.testing.assert_allclose(vectors, [[0.6, 0.8], [0.6, 0.8]], rtol=1e-6)


# --- the sentence-transformers reference (torch) --------------------------------------------------


@pytest.mark.slow
def test_sentence_transformers_reference_embeds_unit_vectors_where_a_paraphrase_wins():
    pytest.importorskip("sentence_transformers", reason="the torch reference is installed by `make test`")
    from integrations.embeddings.minilm import SentenceTransformersEmbedder, load_model

    embedder = get_embedder("sentence-transformers")
    assert isinstance(embedder, SentenceTransformersEmbedder)
    with metering.collect() as meter:
        vectors = embedder.embed(
            [
                "How can I get my money back for a purchase?",
                "What is the procedure to obtain a refund for an order?",
                "The giraffe is the tallest living land animal.",
            ]
        )
    assert meter["embeddings_computed"] == 3
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert embedder.dim == 384 and embedder.name == "sentence-transformers/all-MiniLM-L6-v2"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    question, paraphrase, unrelated = vectors
    assert _cos(question, paraphrase) > _cos(question, unrelated) + 0.3
    assert embedder.embed([]).shape == (0, 384)
    # Loaded once per process: a second embedder shares the same model object.
    assert load_model() is load_model()

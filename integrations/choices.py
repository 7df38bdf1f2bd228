"""The names each provider setting accepts, importable without Django or numpy.

``config/settings`` validates the environment against these at start-up (a typo fails the process,
not the first upload or question), and the factories use the same tuples for their own errors.
"""

from __future__ import annotations

# `onnx` is an alias of `minilm`: what Lambda configurations said before it became the default.
EMBEDDERS = ("minilm", "onnx", "sentence-transformers", "gemini", "fake")
LLM_PROVIDERS = ("gemini", "extractive")
VECTOR_STORES = ("database", "dynamodb")
VECTOR_QUANTIZATIONS = ("float32", "int8")

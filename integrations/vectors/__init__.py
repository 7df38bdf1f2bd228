"""Vector stores: the interface, the shared exact-search core and the DynamoDB store.

The relational-database store (the default) builds on :mod:`integrations.vectors.exact` too.
"""

from .base import SearchHit, VectorItem, VectorStore

__all__ = ["SearchHit", "VectorItem", "VectorStore"]

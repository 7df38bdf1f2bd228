"""Adapters to external systems: storage, embeddings, vector stores and chat models.

Each provider family is a small ``Protocol`` with an embedded implementation, a cloud
implementation and a test fake; a setting picks the implementation and a cached getter builds it
once per process.
"""

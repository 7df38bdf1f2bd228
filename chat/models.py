"""Conversations, messages (with sources, usage and feedback) and bot API keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import TenantScopedModel


class Channel(models.TextChoices):
    BUILDER = "builder", "Builder"
    PUBLIC = "public", "Public"
    API = "api", "API"


class Conversation(TenantScopedModel):
    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=16, choices=Channel.choices, db_index=True)
    # Public channel: the visitor's secret token; only its holder may read or continue the conversation.
    visitor_id = models.CharField(max_length=128, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "chat.BotApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_activity_at"]
        indexes = [models.Index(fields=["bot", "started_at"])]

    def __str__(self) -> str:
        return self.title or str(self.pk)


class Role(models.TextChoices):
    USER = "user", "User"
    ASSISTANT = "assistant", "Assistant"


class Rating(models.TextChoices):
    UP = "up", "Helpful"
    DOWN = "down", "Not helpful"


class Message(TenantScopedModel):
    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    # [{document_id, title, pages, snippet, score, chunk_id}] for assistant messages.
    sources = models.JSONField(default=list, blank=True)
    unanswered = models.BooleanField(default=False, db_index=True)
    model_name = models.CharField(max_length=100, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    # What the turn consumed besides the model (integrations.metering, counted around retrieval).
    embeddings_computed = models.PositiveIntegerField(default=0)
    embedding_tokens = models.PositiveIntegerField(default=0)
    vector_bytes_read = models.BigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    rating = models.CharField(max_length=8, choices=Rating.choices, blank=True, db_index=True)
    feedback_comment = models.TextField(blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["bot", "created_at"])]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"


class BotApiKey(TenantScopedModel):
    """A server-to-server key for one bot. Only a SHA-256 of the key is stored; it is shown once."""

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class RateCounter(models.Model):
    """One fixed window of one rate limit (`chat.ratelimit`): counted by a single upsert, so
    concurrent requests never lose a hit; rows past `expires_at` are pruned."""

    key = models.CharField(max_length=255)
    window = models.BigIntegerField(help_text="The window's number: Unix time // the period.")
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="chat_ratecounter_key_window")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window}: {self.count}"

"""Bots: one chatbot of an organisation, with its behaviour settings and public channel identity."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from tenants.models import TenantScopedModel

from . import appearance


def new_public_id() -> str:
    return "b_" + secrets.token_urlsafe(12)


DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer clearly and concisely."
DEFAULT_FALLBACK = "Sorry, I don't know the answer to that from my knowledge base."


def validate_theme_color(value: str) -> None:
    try:
        appearance.theme_color_clean(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def validate_suggested_questions(value: object) -> None:
    try:
        appearance.suggested_questions_clean(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class WidgetPosition(models.TextChoices):
    RIGHT = "right", "Bottom right"
    LEFT = "left", "Bottom left"


class Bot(TenantScopedModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    system_prompt = models.TextField(default=DEFAULT_SYSTEM_PROMPT, blank=True)
    greeting = models.CharField(max_length=500, default="Hi! How can I help you?", blank=True)
    fallback_message = models.CharField(max_length=1000, default=DEFAULT_FALLBACK)
    model_name = models.CharField(
        max_length=100, blank=True, help_text="Empty = the platform's default model."
    )
    temperature = models.FloatField(default=0.2, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    top_k = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    # all-MiniLM-L6-v2 scores paraphrased answers ~0.2-0.7 and unrelated text ~0.0-0.12.
    relevance_threshold = models.FloatField(
        default=0.15,
        validators=[MinValueValidator(-1.0), MaxValueValidator(1.0)],
        help_text="Passages scoring below this cosine similarity are ignored.",
    )
    is_active = models.BooleanField(default=True)
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    allowed_origins = models.JSONField(default=list, blank=True)
    # The website widget's look (bots.appearance validates; the public profile returns them).
    theme_color = models.CharField(
        max_length=7, default=appearance.DEFAULT_THEME_COLOR, validators=[validate_theme_color]
    )
    position = models.CharField(max_length=5, choices=WidgetPosition.choices, default=WidgetPosition.RIGHT)
    launcher_text = models.CharField(
        max_length=appearance.LAUNCHER_TEXT_MAX_CHARS,
        blank=True,
        help_text="Shown next to the chat icon on the launcher button; empty = the icon alone.",
    )
    # Storage key of the sniffed avatar image ("<org>/<bot>/avatar/<sha256 prefix>.<ext>"); empty =
    # the widget shows the bot's initials. Written only by bots.services.bot_avatar_set/clear.
    avatar_key = models.CharField(max_length=300, blank=True, editable=False)
    suggested_questions = models.JSONField(
        default=list, blank=True, validators=[validate_suggested_questions]
    )
    show_sources = models.BooleanField(
        default=True, help_text="Show the cited documents under each answer in the widget."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "org", name="uniq_bot_name_per_org"),
            models.CheckConstraint(
                condition=models.Q(temperature__gte=0) & models.Q(temperature__lte=2),
                name="bot_temperature_range",
            ),
            models.CheckConstraint(
                condition=models.Q(top_k__gte=1) & models.Q(top_k__lte=20), name="bot_top_k_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def avatar_version(self) -> str:
        """Changes with the avatar's bytes (its key carries their hash): a cache-busting token."""
        return self.avatar_key.rsplit("/", 1)[-1].split(".", 1)[0] if self.avatar_key else ""

    @property
    def avatar_content_type(self) -> str:
        return appearance.AVATAR_TYPES.get(self.avatar_key.rsplit(".", 1)[-1], "") if self.avatar_key else ""

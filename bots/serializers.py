from rest_framework import serializers

from api.serializers import StrictSerializer
from tenants.serializers import UserBriefSerializer

from . import appearance, embed
from .models import WidgetPosition
from .origins import normalize_origins


class BotInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120, trim_whitespace=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    system_prompt = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    greeting = serializers.CharField(required=False, allow_blank=True, max_length=500)
    fallback_message = serializers.CharField(required=False, max_length=1000)
    model_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    temperature = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=20)
    relevance_threshold = serializers.FloatField(required=False, min_value=-1.0, max_value=1.0)
    is_active = serializers.BooleanField(required=False)
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, max_length=50
    )
    theme_color = serializers.CharField(
        required=False, max_length=7, help_text="The widget's accent colour, `#rrggbb`."
    )
    position = serializers.ChoiceField(
        choices=WidgetPosition.choices, required=False, help_text="Which bottom corner the widget sits in."
    )
    launcher_text = serializers.CharField(
        required=False, allow_blank=True, max_length=appearance.LAUNCHER_TEXT_MAX_CHARS
    )
    suggested_questions = serializers.ListField(
        child=serializers.CharField(max_length=appearance.SUGGESTED_QUESTION_MAX_CHARS),
        required=False,
        help_text=f"At most {appearance.SUGGESTED_QUESTIONS_MAX}, offered to a visitor before they ask.",
    )
    show_sources = serializers.BooleanField(required=False)

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        try:
            return normalize_origins(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc))

    def validate_theme_color(self, value: str) -> str:
        try:
            return appearance.theme_color_clean(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc))

    def validate_suggested_questions(self, value: list[str]) -> list[str]:
        try:
            return appearance.suggested_questions_clean(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc))


class BotAvatarInputSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="PNG, JPEG, WebP or GIF (sniffed from the bytes), at most BOT_AVATAR_MAX_BYTES and "
        f"{appearance.AVATAR_MAX_SIDE_PX} px a side."
    )


class BotOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    org_id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    system_prompt = serializers.CharField()
    greeting = serializers.CharField()
    fallback_message = serializers.CharField()
    model_name = serializers.CharField()
    temperature = serializers.FloatField()
    top_k = serializers.IntegerField()
    relevance_threshold = serializers.FloatField()
    is_active = serializers.BooleanField()
    public_id = serializers.CharField()
    allowed_origins = serializers.ListField(child=serializers.CharField())
    theme_color = serializers.CharField()
    position = serializers.CharField()
    launcher_text = serializers.CharField()
    avatar_url = serializers.SerializerMethodField(
        help_text="The avatar image's public URL; null when the widget shows the bot's initials."
    )
    suggested_questions = serializers.ListField(child=serializers.CharField())
    show_sources = serializers.BooleanField()
    embed_snippet = serializers.SerializerMethodField(
        help_text="The tag to paste into a website (before </body>) to put this bot on it."
    )
    created_by = UserBriefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_avatar_url(self, bot) -> str | None:
        return embed.avatar_url(bot=bot, request=self.context.get("request"))

    def get_embed_snippet(self, bot) -> str:
        return embed.embed_snippet(bot=bot, request=self.context.get("request"))

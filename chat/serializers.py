"""Request and response shapes of every chat endpoint (builder, public, API key).

Every response is built by the serializer its OpenAPI entry names, so the schema cannot drift from
what is sent; error bodies are `api.serializers.ErrorSerializer`.
"""

import hashlib

from django.conf import settings
from rest_framework import serializers

from api.serializers import PageQuerySerializer, StrictQuerySerializer, StrictSerializer
from bots.appearance import initials
from bots.embed import avatar_url
from documents.serializers import PassageSerializer, SourceSerializer

from .models import Channel, Rating

# The visitor's secret token, as issued by chat.services.new_visitor_id ("v_" + 24 url-safe chars).
VISITOR_ID_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"


class SearchInputSerializer(StrictSerializer):
    query = serializers.CharField(max_length=2000)
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=50)
    document_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=200)


# One passage shape, serialized in one place (documents.serializers).
PassageOutputSerializer = PassageSerializer


class SearchOutputSerializer(serializers.Serializer):
    results = PassageOutputSerializer(many=True)
    relevance_threshold = serializers.FloatField(
        help_text="The bot's threshold: chat answers only from passages scoring at least this."
    )


class ChatInputSerializer(StrictSerializer):
    message = serializers.CharField(trim_whitespace=True)
    conversation_id = serializers.UUIDField(required=False, allow_null=True)
    stream = serializers.BooleanField(required=False, default=False)

    def validate_message(self, value: str) -> str:
        limit = settings.CHAT_MAX_MESSAGE_CHARS
        if len(value) > limit:
            raise serializers.ValidationError(
                f"The message is {len(value)} characters; the limit is {limit}."
            )
        return value


class PublicChatInputSerializer(ChatInputSerializer):
    visitor_id = serializers.RegexField(
        VISITOR_ID_PATTERN,
        required=False,
        allow_blank=True,
        help_text="Prefer the X-Visitor-Id header; this field is kept for existing clients.",
    )


class UsageSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()


class ChatOutputSerializer(serializers.Serializer):
    """A finished exchange (chat.services.ChatResult): the JSON answer and the stream's `done` event."""

    conversation_id = serializers.UUIDField(source="conversation.pk")
    message_id = serializers.UUIDField(source="message.pk")
    answer = serializers.CharField(source="message.content")
    sources = SourceSerializer(many=True)
    unanswered = serializers.BooleanField(source="message.unanswered")
    usage = UsageSerializer(source="message")
    latency_ms = serializers.IntegerField()


class PublicChatOutputSerializer(ChatOutputSerializer):
    visitor_id = serializers.CharField(
        source="conversation.visitor_id",
        help_text="The visitor's secret token: send it back in X-Visitor-Id to continue, read or rate.",
    )


class ConversationFilterSerializer(PageQuerySerializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    unanswered = serializers.BooleanField(required=False, allow_null=True, default=None)
    rating = serializers.ChoiceField(choices=Rating.choices, required=False)


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.CharField()
    content = serializers.CharField()
    sources = SourceSerializer(many=True)
    unanswered = serializers.BooleanField()
    model_name = serializers.CharField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    latency_ms = serializers.IntegerField()
    rating = serializers.CharField()
    feedback_comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class PublicMessageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.CharField()
    content = serializers.CharField()
    sources = SourceSerializer(many=True)
    # The visitor's own rating and whether the bot fell back, so a reloaded widget shows both.
    rating = serializers.CharField()
    unanswered = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ConversationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    bot_id = serializers.UUIDField()
    channel = serializers.CharField()
    title = serializers.CharField()
    # The visitor's token is a bearer secret for their public conversations: builders see a stable
    # pseudonym (enough to group a visitor's conversations), never the token itself.
    visitor = serializers.SerializerMethodField()
    user_id = serializers.UUIDField(allow_null=True)
    message_count = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()

    def get_visitor(self, conversation) -> str:
        if not conversation.visitor_id:
            return ""
        return "visitor-" + hashlib.sha256(conversation.visitor_id.encode()).hexdigest()[:12]


class FeedbackInputSerializer(StrictSerializer):
    rating = serializers.ChoiceField(choices=Rating.choices)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class PublicFeedbackInputSerializer(FeedbackInputSerializer):
    visitor_id = serializers.RegexField(
        VISITOR_ID_PATTERN,
        required=False,
        allow_blank=True,
        help_text="Prefer the X-Visitor-Id header; this field is kept for existing clients.",
    )


class ApiKeyInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)


class ApiKeyOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedSerializer(ApiKeyOutputSerializer):
    key = serializers.SerializerMethodField(help_text="The raw key, shown in this response only.")

    def get_key(self, key) -> str:
        return self.context["raw_key"]


class ConversationDetailSerializer(ConversationOutputSerializer):
    # Ordered and fetched by chat.selectors.conversation_with_messages.
    messages = MessageOutputSerializer(many=True, source="ordered_messages")


class AvatarQuerySerializer(StrictQuerySerializer):
    v = serializers.CharField(required=False, help_text="The avatar's version, from `avatar_url`.")


class PublicBotSerializer(serializers.Serializer):
    """What the website widget needs to draw a bot: its name, greeting and look."""

    public_id = serializers.CharField()
    name = serializers.CharField()
    greeting = serializers.CharField()
    # Always true: an inactive bot answers 403 on every public route. Kept for existing clients.
    is_active = serializers.BooleanField()
    theme_color = serializers.CharField(help_text="`#rrggbb`.")
    position = serializers.ChoiceField(choices=["right", "left"])
    launcher_text = serializers.CharField()
    avatar_url = serializers.SerializerMethodField(help_text="Null: show `initials` instead.")
    initials = serializers.SerializerMethodField()
    suggested_questions = serializers.ListField(child=serializers.CharField())
    show_sources = serializers.BooleanField()
    message_max_chars = serializers.SerializerMethodField(help_text="The longest message chat accepts.")

    def get_avatar_url(self, bot) -> str | None:
        return avatar_url(bot=bot, request=self.context.get("request"))

    def get_initials(self, bot) -> str:
        return initials(bot.name)

    def get_message_max_chars(self, bot) -> int:
        return settings.CHAT_MAX_MESSAGE_CHARS


class PublicConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    messages = PublicMessageSerializer(many=True, source="ordered_messages")


class PublicFeedbackOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    rating = serializers.CharField()

import hashlib

from django.conf import settings
from rest_framework import serializers

from api.serializers import StrictSerializer

from .models import Channel, Rating


class SearchInputSerializer(StrictSerializer):
    query = serializers.CharField(max_length=2000)
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=50)
    document_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=200)


class PassageOutputSerializer(serializers.Serializer):
    chunk_id = serializers.CharField()
    document_id = serializers.CharField()
    title = serializers.CharField()
    pages = serializers.CharField()
    page_start = serializers.IntegerField(allow_null=True)
    page_end = serializers.IntegerField(allow_null=True)
    heading_path = serializers.ListField(child=serializers.CharField())
    text = serializers.CharField()
    score = serializers.FloatField()


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
    visitor_id = serializers.RegexField(r"^[A-Za-z0-9_-]{16,128}$", required=False, allow_blank=True)


class SourceSerializer(serializers.Serializer):
    document_id = serializers.CharField()
    title = serializers.CharField()
    pages = serializers.CharField()
    snippet = serializers.CharField()
    score = serializers.FloatField()


class ChatOutputSerializer(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    message_id = serializers.UUIDField()
    answer = serializers.CharField()
    sources = SourceSerializer(many=True)
    unanswered = serializers.BooleanField()
    usage = serializers.DictField(child=serializers.IntegerField())
    latency_ms = serializers.IntegerField()


class ConversationFilterSerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    unanswered = serializers.BooleanField(required=False, allow_null=True, default=None)
    rating = serializers.ChoiceField(choices=Rating.choices, required=False)


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    role = serializers.CharField()
    content = serializers.CharField()
    sources = serializers.ListField(child=serializers.DictField())
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
    sources = serializers.ListField(child=serializers.DictField())
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
    visitor_id = serializers.CharField(max_length=128)


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


class ConversationDetailSerializer(ConversationOutputSerializer):
    messages = MessageOutputSerializer(many=True)


class PublicBotSerializer(serializers.Serializer):
    public_id = serializers.CharField()
    name = serializers.CharField()
    greeting = serializers.CharField()
    is_active = serializers.BooleanField()


class PublicConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    messages = PublicMessageSerializer(many=True)


class PublicFeedbackOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    rating = serializers.CharField()

from django.contrib import admin

from tenants.admin import TenantAdmin

from .models import BotApiKey, Conversation, Message


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["role", "content", "unanswered", "rating", "model_name", "latency_ms", "created_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return Message.all_orgs.all()

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(TenantAdmin):
    list_display = ["title", "bot", "org", "channel", "message_count", "started_at", "last_activity_at"]
    list_filter = ["channel", "org"]
    search_fields = ["title", "visitor_id", "bot__name"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in Conversation._meta.fields]
    inlines = [MessageInline]

    def has_add_permission(self, request):
        return False


@admin.register(BotApiKey)
class BotApiKeyAdmin(TenantAdmin):
    list_display = ["name", "bot", "org", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix", "bot__name"]
    readonly_fields = [f.name for f in BotApiKey._meta.fields]

    def has_add_permission(self, request):
        return False  # keys are created through the API, which shows the secret once

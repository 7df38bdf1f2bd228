from django.contrib import admin, messages

from tenants.admin import TenantAdmin

from . import services
from .models import Document


@admin.register(Document)
class DocumentAdmin(TenantAdmin):
    list_display = [
        "title",
        "bot",
        "org",
        "kind",
        "status",
        "progress_pct",
        "chunk_count",
        "page_count",
        "short_error",
        "updated_at",
    ]
    list_filter = ["status", "kind", "org"]
    search_fields = ["title", "filename", "sha256", "bot__name", "org__name"]
    list_select_related = ["org", "bot"]
    readonly_fields = [f.name for f in Document._meta.fields]
    actions = ["reindex", "delete_with_data"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django's bulk delete would leave files and vectors behind.
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request):
        return False

    @admin.display(description="Progress")
    def progress_pct(self, obj):
        return f"{obj.progress:.0%}"

    @admin.display(description="Error")
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    @admin.action(description="Re-index selected documents")
    def reindex(self, request, queryset):
        for document in queryset:
            services.document_reindex(document=document, user=request.user)
        self.message_user(
            request, f"Queued {queryset.count()} document(s) for re-indexing.", messages.SUCCESS
        )

    @admin.action(description="Delete selected documents with their files and vectors")
    def delete_with_data(self, request, queryset):
        count = 0
        for document in list(queryset):
            services.document_delete(document=document, user=request.user)
            count += 1
        self.message_user(request, f"Deleted {count} document(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        services.document_delete(document=obj, user=request.user)

from django.contrib import admin

from tenants.admin import TenantAdmin

from .models import ImportedRecord


@admin.register(ImportedRecord)
class ImportedRecordAdmin(TenantAdmin):
    """Read-only: the importers write these; an operator looks up where a row came from."""

    list_display = ["source", "kind", "source_id", "target_id", "org", "source_updated_at", "updated_at"]
    list_filter = ["source", "kind", "org"]
    search_fields = ["source_id", "target_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

from django.contrib import admin

from tenants.admin import TenantAdmin

from .models import Bot


@admin.register(Bot)
class BotAdmin(TenantAdmin):
    list_display = [
        "name",
        "org",
        "is_active",
        "model_name",
        "top_k",
        "temperature",
        "public_id",
        "updated_at",
    ]
    list_filter = ["org", "is_active"]
    search_fields = ["name", "description", "public_id", "org__name"]
    readonly_fields = ["id", "public_id", "created_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User
from .services import user_unlink_identity


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "external_id", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name", "external_id"]
    readonly_fields = ["date_joined", "last_login", "external_id"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "external_id"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    actions = ["unlink_identity"]

    @admin.action(description="Unlink sign-in identity (the next verified sign-in links afresh)")
    def unlink_identity(self, request, queryset):
        users = list(queryset.exclude(external_id=None))
        for user in users:
            user_unlink_identity(user=user, actor=request.user)
        self.message_user(request, f"Unlinked {len(users)} account(s) from their sign-in identity.")

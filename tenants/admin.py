"""Operator admin. The admin sees every org, so it reads through the `all_orgs` escape hatch."""

from django.contrib import admin

from .models import AuditEvent, Invitation, Membership, Organization


class TenantAdmin(admin.ModelAdmin):
    """Base admin for TenantScopedModel subclasses: operators see all orgs; org is shown, filterable."""

    list_filter = ["org"]
    list_select_related = ["org"]

    def get_queryset(self, request):
        return self.model.all_orgs.select_related("org")

    def get_readonly_fields(self, request, obj=None):
        # The org is chosen once, when an operator creates the object; it never moves between orgs.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "org"] if obj is not None and "org" not in readonly else readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if hasattr(related, "all_orgs"):
            kwargs.setdefault("queryset", related.all_orgs.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]


class InvitationInline(admin.TabularInline):
    model = Invitation
    extra = 0
    readonly_fields = ["created_at", "accepted_at", "invited_by"]
    fields = ["email", "role", "expires_at", "accepted_at", "invited_by", "created_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "member_count", "created_by", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_by", "created_at", "updated_at"]
    inlines = [MembershipInline, InvitationInline]

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role", "created_at"]
    list_filter = ["role", "org"]
    search_fields = ["user__email", "org__name"]
    autocomplete_fields = ["user", "org"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "org", "role", "status", "expires_at", "accepted_at"]
    list_filter = ["role", "org"]
    search_fields = ["email", "org__name"]
    readonly_fields = ["created_at", "accepted_at", "invited_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_email", "action", "target_type", "target_repr", "org_name"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_email", "target_repr", "target_id", "org_name", "org_id"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

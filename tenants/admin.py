"""Operator admin. The admin sees every org, so it reads through the `all_orgs` escape hatch."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .models import AuditEvent, Invitation, Membership, Organization
from .quotas import QUOTAS, org_usage


class ReadOnlyAdminMixin:
    """An admin page that shows records and never adds, changes or deletes them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
    readonly_fields = ["id", "created_by", "created_at", "updated_at", "quota_usage"]
    fieldsets = [
        (None, {"fields": ["id", "name", "created_by", "created_at", "updated_at"]}),
        (
            "Quotas",
            {
                "description": "Empty: the deployment's default (QUOTA_DEFAULTS); 0: unlimited. "
                "Monthly quotas count the calendar month in UTC.",
                "fields": [f"quota_{name}" for name in QUOTAS] + ["quota_usage"],
            },
        ),
    ]
    inlines = [MembershipInline, InvitationInline]

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.memberships.count()

    @admin.display(description="Usage now")
    def quota_usage(self, obj):
        if obj is None or obj.pk is None or obj._state.adding:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    item.name,
                    f"{item.used:,}",
                    "unlimited" if item.limit is None else f"{item.limit:,}",
                    f"{item.resets_at:%Y-%m-%d %H:%M} UTC" if item.resets_at else "",
                )
                for item in org_usage(org=obj)
            ),
        )
        head = mark_safe("<tr><th>Quota</th><th>Used</th><th>Limit</th><th>Resets</th></tr>")
        return format_html('<table class="quota-usage">{}{}</table>', head, rows)


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
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "actor_email", "action", "target_type", "target_repr", "org_name"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_email", "target_repr", "target_id", "org_name", "org_id"]
    date_hierarchy = "created_at"

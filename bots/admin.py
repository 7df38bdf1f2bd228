from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html

from tenants.admin import TenantAdmin

from . import appearance, embed, services
from .models import Bot


class BotAdminForm(forms.ModelForm):
    """The bot form, with the widget's settings in operator-friendly shapes: questions one per line,
    a colour picker, and an avatar upload that goes through the same sniffing as the API."""

    suggested_questions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"One per line, at most {appearance.SUGGESTED_QUESTIONS_MAX}; "
        "offered before a visitor asks.",
    )
    avatar_upload = forms.FileField(
        required=False,
        label="Avatar image",
        help_text="PNG, JPEG, WebP or GIF (no SVG), at most "
        f"{appearance.AVATAR_MAX_SIDE_PX} px a side; empty keeps the current one.",
    )
    avatar_clear = forms.BooleanField(required=False, label="Remove the avatar (show initials)")
    embed_snippet = forms.CharField(
        required=False,
        disabled=True,
        widget=forms.Textarea(attrs={"rows": 2, "readonly": True}),
        help_text="Paste this before </body> on each page that should show the chat.",
    )
    request = None  # set per request by BotAdmin.get_form (the snippet names this host)

    class Meta:
        model = Bot
        fields = ["org", *services.WRITABLE_FIELDS_IN_ORDER]
        widgets = {"theme_color": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.avatar_bytes: bytes | None = None
        # Left out of a submitted form (older scripts, other tools), the look keeps its current value.
        self.fields["theme_color"].required = False
        self.fields["position"].required = False
        if self.instance.pk:
            self.initial["suggested_questions"] = "\n".join(self.instance.suggested_questions or [])
            self.initial["embed_snippet"] = embed.embed_snippet(bot=self.instance, request=self.request)
        else:
            self.fields["embed_snippet"].help_text = "Shown once the bot is saved."

    def clean_suggested_questions(self) -> list[str]:
        text = self.cleaned_data.get("suggested_questions") or ""
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            return appearance.suggested_questions_clean(lines)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_theme_color(self) -> str:
        value = self.cleaned_data.get("theme_color") or ""
        if not value.strip():
            return self.instance.theme_color
        try:
            return appearance.theme_color_clean(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_position(self) -> str:
        return self.cleaned_data.get("position") or self.instance.position

    def clean_avatar_upload(self):
        upload = self.cleaned_data.get("avatar_upload")
        if upload:
            data = upload.read()
            try:
                appearance.sniff_avatar(data, max_bytes=settings.BOT_AVATAR_MAX_BYTES)
            except appearance.AvatarRejected as exc:
                raise forms.ValidationError(exc.reason) from None
            self.avatar_bytes = data
        return upload


@admin.register(Bot)
class BotAdmin(TenantAdmin):
    form = BotAdminForm
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
    readonly_fields = [
        "id",
        "public_id",
        "avatar_preview",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request  # modelform_factory made this class for this request alone
        return form

    @admin.display(description="Avatar")
    def avatar_preview(self, obj):
        url = embed.avatar_url(bot=obj) if obj and obj.pk else None
        if not url:
            return f"None (the widget shows “{appearance.initials(obj.name if obj else '')}”)"
        return format_html('<img src="{}" alt="" width="48" height="48" style="border-radius:50%">', url)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if form.avatar_bytes is not None:
            services.bot_avatar_set(bot=obj, user=request.user, data=form.avatar_bytes)
        elif form.cleaned_data.get("avatar_clear"):
            services.bot_avatar_clear(bot=obj, user=request.user)

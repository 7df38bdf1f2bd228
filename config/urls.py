from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.apis import AuthConfigApi, IdentityLinkApi, MeApi
from api.http import api_not_found
from chat import views as chat_views
from chat.urls import builder_urlpatterns, public_urlpatterns, server_urlpatterns
from config import openapi  # noqa: F401  (registers the auth schemes with drf-spectacular)
from config.apis import HealthApi

admin.site.site_header = "Botwright operations"
admin.site.site_title = "Botwright"

org_patterns = [
    path("", include("tenants.urls")),
    path("<uuid:org_id>/bots/", include("bots.urls")),
    path("<uuid:org_id>/bots/<uuid:bot_id>/", include("documents.urls")),
    path("<uuid:org_id>/bots/<uuid:bot_id>/", include(builder_urlpatterns)),
    path("<uuid:org_id>/bots/<uuid:bot_id>/", include("evaluation.urls")),
    path("<uuid:org_id>/analytics/", include("analytics.urls")),
]

urlpatterns = [
    path("", chat_views.home, name="home"),
    path("widget.js", chat_views.widget_script, name="widget-script"),
    path("demo/<str:public_id>/", chat_views.widget_demo, name="widget-demo"),
    path("admin/", admin.site.urls),
    path("api/health/", HealthApi.as_view(), name="health"),
    path("api/auth/me/", MeApi.as_view(), name="auth-me"),
    path("api/auth/config/", AuthConfigApi.as_view(), name="auth-config"),
    # The paths from before every API route ended with a slash keep working (monitors and clients
    # call them): the same views, left out of the schema (api.schema.AutoSchema.is_excluded).
    path("api/health", HealthApi.as_view()),
    path("api/auth/me", MeApi.as_view()),
    path("api/auth/config", AuthConfigApi.as_view()),
    path("api/auth/identity/link", IdentityLinkApi.as_view()),
    path("api/", include("accounts.urls")),
    path("api/orgs/", include(org_patterns)),
    path("api/public/", include(public_urlpatterns)),
    path("api/v1/", include(server_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Last: any other /api/ path answers JSON (a 308 to the slashed route, or 404), never HTML.
    re_path(r"^api(?:/.*)?$", api_not_found, name="api-not-found"),
]
handler404 = "api.http.handler404"
handler500 = "api.http.handler500"

if settings.COGNITO_HOSTED_UI:
    # /oidc/authenticate/ starts the hosted-UI sign-in; /oidc/callback/ is registered on the app client.
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

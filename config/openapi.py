"""OpenAPI descriptions of our own authentication schemes (so the schema shows how to sign in)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class CognitoJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CognitoJWTAuthentication"
    name = "cognitoJWT"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer", bearer_format="JWT"
        )


class BotApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "chat.authentication.BotApiKeyAuthentication"
    name = "botApiKey"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")

from django.conf import settings
from django.urls import reverse


def cognito(request) -> dict:
    """The hosted-UI sign-in link for the admin login page, when Cognito is configured."""
    if not settings.COGNITO_HOSTED_UI:
        return {}
    return {"cognito_login_url": reverse("oidc_authentication_init")}

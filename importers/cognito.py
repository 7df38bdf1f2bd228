"""Pre-creating imported users in a Cognito user pool (`import_supabase --cognito`).

For teams who prefer a password-reset flow to the User Migration trigger: each user is created
with a verified email and no invitation message (`MessageAction=SUPPRESS`), carrying the Supabase
id in `custom:source_id`. Cognito cannot take a password hash, so these users set a new password
(forgot-password flow) — or, if they are not pre-created, the migration trigger
(`importers.cognito_trigger`) moves them on their first sign-in with the old password.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tenants.errors import InvalidInput, Unavailable


class CognitoProvisioner:
    def __init__(
        self,
        *,
        pool_id: str,
        region: str,
        endpoint_url: str | None = None,
        source_id_attribute: str = "custom:source_id",
        client: Any = None,
    ) -> None:
        if not pool_id:
            raise InvalidInput("--cognito needs COGNITO_USER_POOL_ID (the pool to create the users in).")
        self.pool_id = pool_id
        self.source_id_attribute = source_id_attribute
        self.client = client or boto3.client("cognito-idp", region_name=region, endpoint_url=endpoint_url)

    def ensure_user(self, *, email: str, name: str, source_id: str) -> tuple[bool, str]:
        """`(created, sub)`: create the user unless one with this email exists already."""
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if name:
            attributes.append({"Name": "name", "Value": name})
        if self.source_id_attribute:
            attributes.append({"Name": self.source_id_attribute, "Value": source_id})
        try:
            response = self.client.admin_create_user(
                UserPoolId=self.pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
            )
            return True, _sub(response["User"].get("Attributes", []))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "UsernameExistsException":
                existing = self.client.admin_get_user(UserPoolId=self.pool_id, Username=email)
                return False, _sub(existing.get("UserAttributes", []))
            message = exc.response.get("Error", {}).get("Message", str(exc))
            if code == "InvalidParameterException" and self.source_id_attribute in message:
                raise InvalidInput(
                    f"The user pool has no attribute {self.source_id_attribute}: add it (aws cognito-idp "
                    "add-custom-attributes --custom-attributes Name=source_id,AttributeDataType=String,"
                    "Mutable=true) or set COGNITO_SOURCE_ID_ATTRIBUTE= to leave it out."
                )
            if code in ("ResourceNotFoundException", "AccessDeniedException", "UnrecognizedClientException"):
                raise Unavailable(f"Cognito refused: {code}: {message}")
            raise
        except BotoCoreError as exc:
            raise Unavailable(f"Cognito could not be reached: {exc}")


def _sub(attributes: list[dict[str, str]]) -> str:
    return next((a["Value"] for a in attributes if a.get("Name") == "sub"), "")

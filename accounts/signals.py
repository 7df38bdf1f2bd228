from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in)
def accept_invitations_on_login(sender, user, **kwargs) -> None:
    # Only the invitations that were waiting for this account to exist; later ones are accepted
    # explicitly (tenants.services.invitation_accept).
    from tenants.services import invitations_accept_awaiting_account

    invitations_accept_awaiting_account(user=user)

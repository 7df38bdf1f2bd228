from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in)
def accept_invitations_on_login(sender, user, **kwargs) -> None:
    from tenants.services import invitations_accept_for_user

    invitations_accept_for_user(user=user)

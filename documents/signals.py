"""The knowledge base cleans up after deletions decided elsewhere.

`bots` and `tenants` sit below `documents` and do not import it: deleting a bot or an organisation
(through a service, the admin or a cascade) only deletes rows, and Django's `post_delete` tells us.
Files and vectors are then removed once the deleting transaction commits.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from bots.models import Bot
from tenants.models import Organization

from .services.lifecycle import bot_purge_external_data_after_commit, org_purge_external_data_after_commit


@receiver(post_delete, sender=Bot, dispatch_uid="documents.purge_bot")
def purge_deleted_bot(sender: Any, instance: Bot, **kwargs: Any) -> None:
    bot_purge_external_data_after_commit(org_id=instance.org_id, bot_id=instance.pk)


@receiver(post_delete, sender=Organization, dispatch_uid="documents.purge_org")
def purge_deleted_org(sender: Any, instance: Organization, **kwargs: Any) -> None:
    org_purge_external_data_after_commit(org_id=instance.pk)

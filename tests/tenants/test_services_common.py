"""`model_update`: the one way update services write a model — whitelisted, validated, audited diff."""

from __future__ import annotations

import pytest

from bots.models import Bot
from bots.services import WRITABLE_FIELDS
from tenants.errors import InvalidInput
from tenants.models import Organization
from tenants.services import org_update
from tenants.services_common import model_update

pytestmark = pytest.mark.django_db


def test_model_update_saves_only_the_changed_fields_and_returns_the_diff(bot):
    before = Bot.objects.for_org(bot.org).get(pk=bot.pk).updated_at
    changes = model_update(instance=bot, fields=WRITABLE_FIELDS, data={"top_k": 7, "name": bot.name})
    assert changes == {"top_k": [5, 7]}
    stored = Bot.objects.for_org(bot.org).get(pk=bot.pk)
    assert stored.top_k == 7 and stored.updated_at > before


def test_model_update_with_nothing_changed_writes_nothing(bot):
    before = Bot.objects.for_org(bot.org).get(pk=bot.pk).updated_at
    assert model_update(instance=bot, fields=WRITABLE_FIELDS, data={"top_k": bot.top_k}) == {}
    assert Bot.objects.for_org(bot.org).get(pk=bot.pk).updated_at == before


def test_model_update_refuses_fields_outside_the_whitelist(bot):
    with pytest.raises(InvalidInput) as caught:
        model_update(instance=bot, fields=WRITABLE_FIELDS, data={"public_id": "b_mine", "org_id": None})
    assert caught.value.extra["errors"] == {"org_id": ["Unknown field."], "public_id": ["Unknown field."]}
    assert Bot.objects.for_org(bot.org).get(pk=bot.pk).public_id == bot.public_id


def test_model_update_validates_with_the_models_rules_and_saves_nothing_invalid(bot):
    with pytest.raises(InvalidInput) as caught:
        model_update(instance=bot, fields=WRITABLE_FIELDS, data={"temperature": 5.0})
    assert "temperature" in caught.value.extra["errors"]
    assert Bot.objects.for_org(bot.org).get(pk=bot.pk).temperature == 0.2


def test_org_update_refuses_unknown_fields(org, owner):
    # Regression: org_update used to setattr whatever it was given.
    with pytest.raises(InvalidInput):
        org_update(org=org, user=owner, data={"created_by": None, "name": "Renamed"})
    assert Organization.objects.get(pk=org.pk).name == "Acme"
    org_update(org=org, user=owner, data={"name": "Renamed"})
    assert Organization.objects.get(pk=org.pk).name == "Renamed"

from __future__ import annotations

import pytest

from tests.chat.conftest import FAQ, _fresh_models, kb_bot  # noqa: F401  (fixtures reused)


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


def analytics_url(org, suffix):
    return f"/api/orgs/{org.pk}/analytics/{suffix}"

"""Dependencies point one way (docs/architecture.md): the import-linter contracts in pyproject.toml
hold for the tree, and an import against the direction breaks them.

``make lint`` runs the same contracts with ``lint-imports``; this test keeps them in the suite.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter.configuration import configure
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

configure()  # what the lint-imports command does first (a timer and readers the contracts use)

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
CONFIG = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
TYPES = {"layers": LayersContract, "forbidden": ForbiddenContract}


def contract(contract_id: str):
    (found,) = [c for c in CONFIG["contracts"] if c["id"] == contract_id]
    # As import-linter's TOML reader passes them: booleans as strings, like its INI reader.
    options = {
        k: str(v) if isinstance(v, bool) else v for k, v in found.items() if k not in ("id", "name", "type")
    }
    return TYPES[found["type"]](name=found["name"], session_options=CONFIG, contract_options=options)


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*CONFIG["root_packages"], cache_dir=None)


@pytest.mark.parametrize("contract_id", [c["id"] for c in CONFIG["contracts"]])
def test_the_tree_keeps_every_import_contract(graph, contract_id):
    check = contract(contract_id).check(copy.deepcopy(graph), verbose=False)
    assert check.kept, check.metadata


@pytest.mark.parametrize(
    ("contract_id", "importer", "imported"),
    [
        # tenants sits at the bottom of the apps: org deletion must not reach into documents.
        ("rooms", "tenants.services", "documents.models"),
        # The database vector store keeps its own table; it must not import documents.models.
        ("rooms", "integrations.vectors.database", "documents.models"),
        # The password lockout asks tenants.client_ip, not the chat app.
        ("rooms", "accounts.lockout", "chat.ratelimit"),
        ("rooms", "bots.services", "documents.services"),
        ("rooms", "chat.services", "analytics.services"),
        ("rooms", "integrations.storage", "config.settings.base"),
        ("edge", "documents.services.processing", "api.views"),
        ("edge", "bots.models", "api.serializers"),
        ("api-generic", "api.views", "documents.models"),
    ],
)
def test_an_import_against_the_direction_breaks_a_contract(graph, contract_id, importer, imported):
    broken = copy.deepcopy(graph)
    broken.add_import(importer=importer, imported=imported, line_number=1, line_contents="import x")
    assert not contract(contract_id).check(broken, verbose=False).kept

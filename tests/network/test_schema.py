"""Schemathesis against the served ``/openapi.json``: no input breaks the hub or strays from the schema.

Bounded examples per operation keep this fast; calls carry a valid token so they reach past
authentication, while the other headers, the path and the body are generated (mostly wrong on purpose).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from kruispunt.api import create_app
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from tests.hub_world import World, build_world
from tests.network.provider import serve_in_thread


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    folder: Path = tmp_path_factory.mktemp("schema")
    config = Settings(home=folder / "home")
    state = bootstrap(config)
    world = build_world(state.engine, folder)
    with serve_in_thread(create_app(config), lifespan="on") as url:
        yield url, world
    state.engine.dispose()


def test_api_conforms_to_its_schema(served: tuple[str, World]) -> None:
    url, world = served
    api = schemathesis.openapi.from_url(f"{url}/openapi.json").include(path_regex="^/v1/(persons|directory)/")
    auth = {"Authorization": f"Bearer {world.ocmw_token}"}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 5

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            # Schema-valid data may still be refused: INSZ check digits and "at or from/to" are rules
            # JSON Schema cannot express, so acceptance of positive data is not checked.
            case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

        conforms()

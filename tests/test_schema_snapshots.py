"""The SDL snapshots in graphql/ match the schemas, and the front ends' operations match them.

The operations in graphql/operations/<api>/ are what the front ends and the tests
send; validating them against the checked-in SDL proves they cannot drift from the
API without a failing test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.snapshots import SNAPSHOTS, render, snapshot_dir
from graphql import GraphQLSchema, OperationDefinitionNode, build_schema, parse, validate

REGENERATE = "run `uv run python manage.py graphql_snapshots` and commit graphql/*.graphql"
APIS = {"consumer": "consumer.graphql", "merchant": "merchant.graphql"}
OPERATIONS = snapshot_dir() / "operations"


def _operation_files() -> list[tuple[str, Path]]:
    return [(api, path) for api in APIS for path in sorted((OPERATIONS / api).glob("*.graphql"))]


def test_every_schema_has_a_snapshot() -> None:
    assert set(SNAPSHOTS) == set(APIS.values())
    for filename in SNAPSHOTS:
        assert (snapshot_dir() / filename).is_file(), f"graphql/{filename} is missing: {REGENERATE}"


@pytest.mark.parametrize("filename", sorted(SNAPSHOTS))
def test_snapshot_matches_the_schema(filename: str) -> None:
    snapshot = (snapshot_dir() / filename).read_text()
    current = render(SNAPSHOTS[filename])
    assert snapshot == current, f"graphql/{filename} is out of date: {REGENERATE}"


def test_snapshots_are_the_two_different_apis() -> None:
    consumer = build_schema((snapshot_dir() / APIS["consumer"]).read_text())
    merchant = build_schema((snapshot_dir() / APIS["merchant"]).read_text())
    assert merchant.query_type is not None and consumer.query_type is not None
    assert consumer.mutation_type is not None
    assert "myRole" in merchant.query_type.fields
    assert "myRole" not in consumer.query_type.fields
    assert "staffInvite" not in consumer.mutation_type.fields


@pytest.fixture(scope="module")
def snapshot_schemas() -> dict[str, GraphQLSchema]:
    return {api: build_schema((snapshot_dir() / name).read_text()) for api, name in APIS.items()}


def test_there_are_operations_for_both_apis() -> None:
    files = _operation_files()
    for api in APIS:
        assert [p for a, p in files if a == api], f"no operations in graphql/operations/{api}/"
    assert not list(OPERATIONS.glob("*.graphql")), "put operations in a consumer/ or merchant/ dir"


@pytest.mark.parametrize(
    ("api", "path"), _operation_files(), ids=[f"{a}/{p.stem}" for a, p in _operation_files()]
)
def test_operation_is_valid_against_the_snapshot(
    api: str, path: Path, snapshot_schemas: dict[str, GraphQLSchema]
) -> None:
    document = parse(path.read_text())
    errors = validate(snapshot_schemas[api], document)
    assert not errors, f"{api}/{path.name}: " + "; ".join(e.message for e in errors)

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1, f"{path.name} must hold exactly one operation"
    name = operations[0].name
    assert name is not None and name.value == path.stem, (
        f"{path.name} must hold an operation named {path.stem}"
    )


def test_invalid_operation_would_be_caught(snapshot_schemas: dict[str, GraphQLSchema]) -> None:
    """The check above is real: an operation the consumer API lacks fails it."""
    merchant_only = (OPERATIONS / "merchant" / "Staff.graphql").read_text()
    assert validate(snapshot_schemas["consumer"], parse(merchant_only))

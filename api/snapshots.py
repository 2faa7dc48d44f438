"""The SDL snapshots in graphql/: what the schemas are, checked in and checked by a test."""

from __future__ import annotations

from pathlib import Path

import graphene
from django.conf import settings

from api.schema import consumer_schema, merchant_schema
from graphql import print_schema

SNAPSHOTS: dict[str, graphene.Schema] = {
    "consumer.graphql": consumer_schema,
    "merchant.graphql": merchant_schema,
}


def snapshot_dir() -> Path:
    return Path(settings.BASE_DIR) / "graphql"


def render(schema: graphene.Schema) -> str:
    return print_schema(schema.graphql_schema) + "\n"

"""Consumer API: ``me``."""

from __future__ import annotations

from typing import Any

import graphene

from accounts.graphql.types import Consumer
from accounts.models import User


class ConsumerQueries(graphene.ObjectType):
    me = graphene.Field(Consumer, description="The signed-in consumer, or null.")

    @staticmethod
    def resolve_me(root: Any, info: graphene.ResolveInfo) -> User | None:
        user = info.context.user
        return user if user.is_authenticated and user.is_consumer else None

"""Consumer API: ``setNotificationPreferences``."""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import require_consumer
from notifications import services
from notifications.graphql.types import NotificationPreferences


class SetNotificationPreferences(DomainMutation):
    """Turn notices on or off; arguments left out stay as they are."""

    class Arguments:
        expiry_reminders = graphene.Boolean()
        order_updates = graphene.Boolean()

    preferences = graphene.Field(NotificationPreferences)

    @classmethod
    def perform(
        cls,
        root: Any,
        info: graphene.ResolveInfo,
        expiry_reminders: bool | None = None,
        order_updates: bool | None = None,
    ) -> SetNotificationPreferences:
        consumer = require_consumer(info)
        prefs = services.set_preferences(
            consumer, expiry_reminders=expiry_reminders, order_updates=order_updates
        )
        return cls(preferences=prefs)


class ConsumerMutations(graphene.ObjectType):
    set_notification_preferences = SetNotificationPreferences.Field()

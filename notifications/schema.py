"""Consumer API: the signed-in consumer's notification choices."""

from __future__ import annotations

from typing import Any

import graphene

from api.mutations import DomainMutation
from api.permissions import require_consumer
from notifications import services
from notifications.models import ConsumerPreference


class NotificationPreferences(graphene.ObjectType):
    """SMS the consumer agrees to receive. Sign-in codes are always sent."""

    expiry_reminders = graphene.Boolean(
        required=True, description="A text when points are about to expire."
    )
    order_updates = graphene.Boolean(required=True, description="A text when an order ships.")


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


class ConsumerQueries(graphene.ObjectType):
    notification_preferences = graphene.Field(
        NotificationPreferences, required=True, description="Yours (consumers only)."
    )

    @staticmethod
    def resolve_notification_preferences(
        root: Any, info: graphene.ResolveInfo
    ) -> ConsumerPreference:
        return services.preferences(require_consumer(info))


class ConsumerMutations(graphene.ObjectType):
    set_notification_preferences = SetNotificationPreferences.Field()

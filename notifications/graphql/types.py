"""The consumer's notification choices."""

from __future__ import annotations

import graphene


class NotificationPreferences(graphene.ObjectType):
    """SMS the consumer agrees to receive. Sign-in codes are always sent."""

    expiry_reminders = graphene.Boolean(
        required=True, description="A text when points are about to expire."
    )
    order_updates = graphene.Boolean(required=True, description="A text when an order ships.")

"""Consumer API: ``notificationPreferences``."""

from __future__ import annotations

from typing import Any

import graphene

from api.permissions import require_consumer
from notifications import services
from notifications.graphql.types import NotificationPreferences
from notifications.models import ConsumerPreference


class ConsumerQueries(graphene.ObjectType):
    notification_preferences = graphene.Field(
        NotificationPreferences, required=True, description="Yours (consumers only)."
    )

    @staticmethod
    def resolve_notification_preferences(
        root: Any, info: graphene.ResolveInfo
    ) -> ConsumerPreference:
        return services.preferences(require_consumer(info))

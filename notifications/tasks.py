"""Consumer notices. Public schema: lots and orders are shared tables."""

from __future__ import annotations

from celery import shared_task

from notifications import services


@shared_task(name="notifications.tasks.notify_expiring_points", ignore_result=True)
def notify_expiring_points() -> int:
    """Beat: remind consumers of points expiring soon. Safe to run twice (once per lot)."""
    return services.notify_expiring_points()


@shared_task(name="notifications.tasks.order_shipped", ignore_result=True)
def order_shipped(order_id: int) -> bool:
    return services.order_shipped(order_id)

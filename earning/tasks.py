"""The pending awards' sweep: return holds that ended, credit phones that signed up."""

from __future__ import annotations

from celery import shared_task

from earning import services


@shared_task(name="earning.tasks.settle_pending_awards")
def settle_pending_awards() -> dict[str, int]:
    # Credit first: a phone that signed up just before its hold ended keeps its points.
    credited = services.credit_signed_up()
    return {"credited": credited, "returned": services.return_expired_holds()}


@shared_task(name="earning.tasks.refresh_ways_to_earn")
def refresh_ways_to_earn() -> int:
    # Catches what a status change did not announce (new batches, renames, ended dates).
    from campaigns import offers

    return offers.refresh_all()


@shared_task(name="earning.tasks.award_birthday_bonuses")
def award_birthday_bonuses() -> int:
    # Hourly: once per consumer, merchant and year whatever the runs (earning.services).
    return services.award_birthday_bonuses()

"""Prize tiers that pay a mall coupon from the merchant's own pool (decision 0281).

A merchant that consigned a coupon product to the mall (``redemption``) was credited for
its coupons; a prize tier may pay one of them instead of points. The tier is worth the
coupon's mall price (``points``), so the batch's points reserve, Σ min(cap, size) x
points, is unchanged; on top of it, the batch takes min(cap, size) coupons out of the
product's stock (``set_aside``): no consumer can redeem them meanwhile, and no draw can
find the pool empty. A draw that wins the tier is paid the price from the reserve and
redeems it for a free coupon of the product in the same statement (an order in the
consumer's orders, the two movements in the wallet's history). The campaign's end gives
the coupons no draw took back to the pool (``return_leftovers``).

Stock, not marked coupons: the pool's free coupons are always its stock plus what prize
batches set aside and have not given, since the mall's redeem lowers the stock before it
takes a coupon and refuses when the stock is short. So the draw takes any free one.
"""

from __future__ import annotations

from django.db.models import Count, F
from django.utils.translation import gettext as _

from campaigns.error_codes import PrizeErrorCode
from campaigns.models import Campaign, CampaignError, PrizeDraw, PrizeTable, PrizeTier
from campaigns.models.prizes import TierTerms
from redemption.models import Product, ProductKind, ProductStatus
from tenants.models import Merchant


def priced(merchant: Merchant, tiers: list[TierTerms]) -> list[TierTerms]:
    """The tiers with each coupon tier's points set to its coupon's mall price.

    A coupon tier names a listed coupon product the merchant supplies; anything else is
    refused with the tier's field.
    """
    wanted = {t.coupon for t in tiers if t.coupon is not None}
    if not wanted:
        return tiers
    prices = dict(
        Product.objects.filter(
            pk__in=wanted,
            kind=ProductKind.COUPON,
            supplier_id=merchant.pk,
            status=ProductStatus.LISTED,
        ).values_list("pk", "points_price")
    )
    out = []
    for i, tier in enumerate(tiers):
        if tier.coupon is None:
            out.append(tier)
            continue
        if tier.coupon not in prices:
            raise CampaignError(
                PrizeErrorCode.INVALID_PRIZE_TABLE,
                _(
                    "A prize coupon comes from a coupon product your company supplies to "
                    "the mall, listed there: this one is not."
                ),
                f"tiers.{i}.coupon",
            )
        out.append(TierTerms(tier.name, prices[tier.coupon], tier.weight, tier.cap, tier.coupon))
    return out


def set_aside(table: PrizeTable, size: int, field: str = "size") -> None:
    """Take a new batch's coupons out of the pools' stock (in the batch's transaction),
    or a prize questionnaire's at its first activation (``size``: its rewarded responses,
    ``field`` naming them).

    Per coupon tier, min(cap, size): the most its draws could give. Refused, with
    nothing taken, when a pool holds fewer.
    """
    for tier in table.tiers.filter(coupon_product_id__isnull=False):
        assert tier.coupon_product_id is not None  # filtered above
        units = min(tier.cap if tier.cap is not None else size, size)
        taken = Product.objects.filter(pk=tier.coupon_product_id, stock__gte=units).update(
            stock=F("stock") - units
        )
        if not taken:
            message = (
                _(
                    "The coupon pool of “%(tier)s” holds fewer than the %(units)s coupons "
                    "this batch may give: upload more coupons or make the batch smaller."
                )
                if field == "size"
                else _(
                    "The coupon pool of “%(tier)s” holds fewer than the %(units)s coupons "
                    "this questionnaire may give: upload more coupons or reward fewer "
                    "responses."
                )
            )
            raise CampaignError(
                PrizeErrorCode.PRIZE_COUPONS_SHORT,
                message % {"tier": tier.name, "units": f"{units:,}"},
                field,
            )
        PrizeTier.objects.filter(pk=tier.pk).update(
            coupons_set_aside=F("coupons_set_aside") + units
        )


def return_leftovers(campaign: Campaign) -> None:
    """At the campaign's end (its row locked): coupons set aside and not given go back.

    The head is locked (as ``reveal`` does) before the tiers, the lock order of decision
    0318; no draw is in flight (the campaign's row is locked for update).
    """
    table = PrizeTable.objects.select_for_update().filter(campaign=campaign).first()
    if table is None:
        return
    tiers = list(table.tiers.filter(coupon_product_id__isnull=False))
    if not tiers:
        return
    given = dict(
        PrizeDraw.objects.filter(table=table, awarded__in=[t.position for t in tiers])
        .values("awarded")
        .annotate(n=Count("pk"))
        .values_list("awarded", "n")
    )
    for tier in tiers:
        back = tier.coupons_set_aside - given.get(tier.position, 0) - tier.coupons_returned
        if back <= 0 or tier.coupon_product_id is None:
            continue
        Product.objects.filter(pk=tier.coupon_product_id).update(stock=F("stock") + back)
        PrizeTier.objects.filter(pk=tier.pk).update(coupons_returned=F("coupons_returned") + back)

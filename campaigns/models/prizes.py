"""Prize draws: a scan campaign's prize table, its tiers, its seeds and its draw log.

Tables in each merchant's schema. A campaign that pays prizes has one ``PrizeTable``;
its terms (tiers, weights, caps, points) may change only while the campaign is a draft
and are locked when it is first activated (China's promotion rules forbid changing
published prize terms). The table's row is also the head of the hash-chained draw log:
every draw of the campaign takes its turn on it (decision 0213).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.error_codes import PrizeErrorCode
from campaigns.models.campaigns import Campaign, CampaignError
from core.text import TextKind, clean_text

# The hash a chain starts from (the previous hash of the first entry).
GENESIS = "0" * 64


class PrizeTable(models.Model):
    campaign = models.OneToOneField(Campaign, on_delete=models.PROTECT, related_name="prize_table")
    # Days per seed period; null: one seed for the whole campaign, revealed at its end.
    period_days = models.PositiveIntegerField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    # The head of the draw log: how many draws so far and the last entry's hash.
    draws = models.BigIntegerField(default=0)
    head = models.CharField(max_length=64, default=GENESIS)
    # The seed the next draw uses (null until the terms are locked).
    seed = models.ForeignKey(
        "PrizeSeed", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The first-scan guarantee (decision 0280): a consumer's first draw in the campaign that
    # would win nothing wins the lowest paying tier instead (which then has no cap).
    first_scan_guarantee = models.BooleanField(default=False)
    # The key of the log's pseudonymous player tags (made at lock, only with the guarantee):
    # the verifier needs to know which entries are a consumer's first, never who it is.
    # Never published, not even at the end (consumer ids are small numbers: a revealed
    # key would name every player).
    player_key = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"prize table of {self.campaign_id}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    def terms(self) -> list[TierTerms]:
        return [
            TierTerms(t.name, t.points, t.weight, t.cap, t.coupon_product_id)
            for t in self.tiers.all()
        ]

    def guaranteed_position(self) -> int | None:
        """The tier a first scan wins at least (the lowest paying one), with the guarantee."""
        if not self.first_scan_guarantee:
            return None
        return guaranteed_index(self.terms()) + 1


class PrizeTier(models.Model):
    """One line of the table. ``position`` 1 is the top prize; the last tier is the
    "thank you" tier (no points, no cap), which every exhausted tier falls to in the end."""

    table = models.ForeignKey(
        PrizeTable, on_delete=models.PROTECT, related_name="tiers", db_index=False
    )
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=40)
    points = models.PositiveIntegerField()
    weight = models.PositiveIntegerField()
    cap = models.PositiveIntegerField(null=True, blank=True)
    # Units given so far; kept only for capped tiers (the cap is checked against it).
    won = models.PositiveIntegerField(default=0)
    # A tier that pays a mall coupon (decision 0281): the merchant's own coupon product
    # (public ``redemption_product`` id; ``points`` is its price, what the prize is worth
    # and what the batch reserves). Coupons taken out of its pool's stock by the
    # campaign's batches, and those returned to it when the campaign ended.
    coupon_product_id = models.BigIntegerField(null=True, blank=True)
    coupons_set_aside = models.PositiveIntegerField(default=0)
    coupons_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["table", "position"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["table", "position"], name="prize_tier_position"),
            models.CheckConstraint(condition=models.Q(weight__gte=1), name="prize_tier_weight"),
            models.CheckConstraint(
                condition=models.Q(cap__isnull=True) | models.Q(won__lte=models.F("cap")),
                name="prize_tier_within_cap",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.points} x {self.cap or '∞'} (weight {self.weight})"

    @property
    def is_thank_you(self) -> bool:
        return self.points == 0


class PrizeSeed(models.Model):
    """A secret server seed: its commitment (SHA-256 of the seed's bytes) is published when
    it is made, the seed itself when its period or the campaign ends."""

    table = models.ForeignKey(
        PrizeTable, on_delete=models.PROTECT, related_name="seeds", db_index=False
    )
    period = models.PositiveIntegerField()
    seed = models.BinaryField()
    # HMAC-SHA256's two padded keys (seed XOR 0x36…, seed XOR 0x5c…, 64 bytes each), made
    # with the seed: the claim function would spend a fifth of a millisecond, inside the
    # draw log's turn, XORing them byte by byte. As secret as the seed; never published.
    hmac_pads = models.BinaryField(default=b"")
    commitment = models.CharField(max_length=64)
    committed_at = models.DateTimeField(default=timezone.now)
    # When the next period starts (null: at the campaign's end).
    ends_at = models.DateTimeField(null=True, blank=True)
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["table", "period"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["table", "period"], name="prize_seed_period"),
        ]

    def __str__(self) -> str:
        return f"seed {self.period} of {self.table_id}: {self.commitment}"


class PrizeDraw(models.Model):
    """One entry of the draw log, appended by campaigns_claim_prize in the claim's
    transaction. ``hash`` covers the entry's public fields and the previous hash."""

    table = models.ForeignKey(
        PrizeTable, on_delete=models.PROTECT, related_name="log", db_index=False
    )
    seq = models.BigIntegerField()
    period = models.PositiveIntegerField()
    nonce = models.CharField(max_length=64)
    # The tier the draw landed on, and the tier awarded (lower when that one was exhausted).
    drawn = models.PositiveSmallIntegerField()
    awarded = models.PositiveSmallIntegerField()
    points = models.PositiveIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # With the first-scan guarantee only (entries hashed as "v2"): the consumer's tag in
    # this campaign (HMAC under the table's secret player_key, 32 hex) and why the
    # awarded tier differs from the drawn one when the guarantee changed it ("first-scan":
    # the tag's first entry in the log). Empty in a table without the guarantee.
    player = models.CharField(max_length=32, default="", blank=True)
    guarantee = models.CharField(max_length=16, default="", blank=True)
    # Not part of the published log: which claim the draw paid (its code), or which
    # questionnaire response ("q:<campaign>:<consumer>", decision 0283).
    code = models.CharField(max_length=48)
    drawn_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["table", "seq"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["table", "seq"], name="prize_draw_seq"),
            # One draw per code; also how a replayed claim finds its prize.
            models.UniqueConstraint(fields=["code"], name="prize_draw_code"),
        ]
        indexes: ClassVar = [
            # Is this the player's first draw? (the guarantee, under the head's lock)
            models.Index(
                fields=["table", "player"],
                name="prize_draw_player",
                condition=~models.Q(player=""),
            ),
        ]

    def __str__(self) -> str:
        return f"draw {self.seq} of {self.table_id}: tier {self.awarded}"


# The rules on a prize table's terms (decision 0215).
MIN_TIERS, MAX_TIERS = 2, 10
MAX_TIER_POINTS = 10_000_000
MAX_TIER_WEIGHT = 1_000_000
MAX_TIER_CAP = 10_000_000
MAX_PERIOD_DAYS = 366
# The Anti-Unfair Competition Law (反不正当竞争法, art. 10) forbids a lottery-style
# promotion whose top prize is worth more than ¥50,000. A point is valued at what the
# mall sells it for, 1 fen (decision 0215): the ceiling is then 5,000,000 points.
LEGAL_CEILING_FEN = 5_000_000
POINT_VALUE_FEN = 1


@dataclass(frozen=True)
class TierTerms:
    """One tier as a merchant defines it (position is its place in the list, from 1)."""

    name: str
    points: int
    weight: int
    cap: int | None
    # A mall coupon product's id: the tier pays one of its coupons (points: its price).
    coupon: int | None = None


def _refuse(message: str, field: str) -> CampaignError:
    return CampaignError(PrizeErrorCode.INVALID_PRIZE_TABLE, message, field)


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def guaranteed_index(tiers: list[TierTerms]) -> int:
    """The index of the lowest tier that pays (the one above "thank you")."""
    return max(i for i, t in enumerate(tiers) if t.points > 0)


def validate_terms(
    tiers: list[TierTerms], period_days: int | None, first_scan_guarantee: bool = False
) -> None:
    """Refuse a table that breaks a rule, naming the rule (``tiers.<i>.<field>``)."""
    if not MIN_TIERS <= len(tiers) <= MAX_TIERS:
        raise _refuse(
            gettext("A prize table has %(min)s to %(max)s tiers, the last one “thank you”.")
            % {"min": MIN_TIERS, "max": MAX_TIERS},
            "tiers",
        )
    for i, tier in enumerate(tiers):
        field = f"tiers.{i}"
        if not tier.name.strip() or len(tier.name) > 40:
            raise _refuse(gettext("Each tier needs a name of at most 40 characters."), field)
        if not _int_in(tier.weight, 1, MAX_TIER_WEIGHT):
            raise _refuse(gettext("A tier's weight is 1 to 1,000,000."), f"{field}.weight")
        last = i == len(tiers) - 1
        if last:
            if tier.points != 0 or tier.cap is not None:
                raise _refuse(
                    gettext(
                        "The last tier is “thank you”: no points and no cap, so that a "
                        "draw on an exhausted tier always has somewhere to fall."
                    ),
                    field,
                )
            continue
        if not _int_in(tier.points, 1, MAX_TIER_POINTS):
            raise _refuse(gettext("A prize tier pays 1 to 10,000,000 points."), f"{field}.points")
        if tier.cap is not None and not _int_in(tier.cap, 1, MAX_TIER_CAP):
            raise _refuse(gettext("A tier's cap is 1 to 10,000,000."), f"{field}.cap")
        if tier.points * POINT_VALUE_FEN > LEGAL_CEILING_FEN:
            raise CampaignError(
                PrizeErrorCode.PRIZE_ABOVE_LEGAL_CEILING,
                gettext(
                    "A prize may be worth at most ¥50,000 (%(points)s points): the "
                    "Anti-Unfair Competition Law forbids lottery-style promotions with a "
                    "larger top prize. Split it into several prizes or lower it."
                )
                % {"points": f"{LEGAL_CEILING_FEN // POINT_VALUE_FEN:,}"},
                f"{field}.points",
            )
    if period_days is not None and not _int_in(period_days, 1, MAX_PERIOD_DAYS):
        raise _refuse(gettext("A seed period is 1 to 366 days."), "periodDays")
    if first_scan_guarantee:
        # Each code draws once, so an uncapped tier gives at most a batch's size and the
        # reserve, Σ min(cap, size) x points, already covers a guaranteed win. A capped
        # lowest tier could run out and break the promise "always".
        index = guaranteed_index(tiers)
        if tiers[index].cap is not None:
            raise _refuse(
                gettext(
                    "With the first-scan guarantee, the lowest prize (the one above "
                    "“thank you”) has no cap, so that every consumer's first scan can win it."
                ),
                f"tiers.{index}.cap",
            )


def terms_from_json(value: object) -> list[TierTerms]:
    """Tiers as the merchant API sends them (a JSON list of objects), shape checked; the
    rules on their values are ``validate_terms``'."""
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise _refuse(gettext("The tiers are a list of objects."), "tiers")
    terms = []
    for i, tier in enumerate(value):
        unknown = set(tier) - {"name", "points", "weight", "cap", "coupon"}
        if unknown:
            raise _refuse(
                gettext("A tier has name, points, weight, cap and coupon only."), f"tiers.{i}"
            )
        coupon = tier.get("coupon")
        if coupon is not None:
            if not _int_in(coupon, 1, 2**63 - 1):
                raise _refuse(gettext("A coupon is a mall product's number."), f"tiers.{i}.coupon")
            # What the coupon is worth is its mall price, filled in with the product.
            tier = {"points": 1, **tier}
        name = tier.get("name")
        if not isinstance(name, str):
            raise _refuse(gettext("Each tier needs a name of at most 40 characters."), f"tiers.{i}")
        for field in ("points", "weight"):
            if not _int_in(tier.get(field), 0, 2**31 - 1):
                raise _refuse(gettext("Points and weight are whole numbers."), f"tiers.{i}.{field}")
        cap = tier.get("cap")
        if cap is not None and not _int_in(cap, 0, 2**31 - 1):
            raise _refuse(gettext("A tier's cap is 1 to 10,000,000."), f"tiers.{i}.cap")
        terms.append(
            TierTerms(
                clean_text(name, TextKind.SINGLE_LINE, 40, f"tiers.{i}.name"),
                tier["points"],
                tier["weight"],
                cap,
                coupon,
            )
        )
    return terms


def reserve_for(tiers: list[TierTerms], size: int) -> int:
    """What a batch of ``size`` codes reserves: Σ over tiers of min(cap, size) x points,
    the most its draws could pay whatever their order."""
    return sum(min(t.cap if t.cap is not None else size, size) * t.points for t in tiers)

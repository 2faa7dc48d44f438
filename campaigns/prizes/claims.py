"""The claim of a code whose batch pays a prize table: its draw, in one statement.

campaigns/prizes/sql/campaigns_claim_prize.sql takes the code, draws, appends to the
draw log, pays the tier and records the claim, answering campaigns_claim_code's columns
followed by the draw's. ``campaigns.scan.claims`` calls it first for a claim that carries
the page's nonce (the page sends one for a code its preview showed as a prize code), so
a prize claim is one round trip as a fixed-points claim is; a fixed-points code sent
here answers ``points`` before writing anything, and a prize code claimed without a
nonce is answered ``prize`` by campaigns_claim_code (decision 0212).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from campaigns.error_codes import PrizeErrorCode
from campaigns.models import CampaignError, PrizeDraw
from core.db import rows

# What the consumer's page generates per claim (crypto.getRandomValues): input the
# platform can neither choose nor predict.
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
CLAIM_PRIZE_SQL = "SELECT * FROM public.campaigns_claim_prize(%s, %s, %s, %s, %s, %s, %s)"
# How many leading columns campaigns_claim_prize shares with campaigns_claim_code.
CLAIM_COLUMNS = 12
# campaigns_claim_prize's answer for a code whose batch pays fixed points.
NOT_A_PRIZE = "points"


@dataclass(frozen=True)
class Prize:
    """What a draw gave: the tier (by position and name), the points, and the log entry."""

    tier: int
    tier_name: str
    drawn: int
    points: int
    seq: int
    entry_hash: str

    @property
    def guaranteed(self) -> bool:
        """Won by the first-scan guarantee: the fallback rule only ever moves a draw down
        the table, the guarantee is the one thing that moves it up (decision 0280)."""
        return self.tier < self.drawn


def is_nonce(nonce: str | None) -> bool:
    return nonce is not None and NONCE.fullmatch(nonce) is not None


def check_nonce(nonce: str | None) -> str:
    if nonce is None or not NONCE.fullmatch(nonce):
        raise CampaignError(
            PrizeErrorCode.INVALID_DRAW_NONCE,
            _("This code is a prize draw: reload the page and scan again."),
            "nonce",
        )
    return nonce


def claim(
    merchant_id: int,
    code: str,
    consumer_id: int,
    key: str,
    now: datetime,
    nonce: str | None,
    consent: str | None,
) -> tuple[tuple[Any, ...], Prize | None]:
    """The claim function's row (its first ``CLAIM_COLUMNS``) and the prize it drew;
    ``consent``: the consent version it requires (privacy.consent.required)."""
    params = [merchant_id, code, consumer_id, key, now, check_nonce(nonce), consent]
    row = rows.fetch_one(CLAIM_PRIZE_SQL, params, any_path=True)
    assert row is not None  # the function always answers one row
    head, (tier_name, drawn, awarded, seq, entry_hash) = row[:CLAIM_COLUMNS], row[CLAIM_COLUMNS:]
    if seq is None:
        return head, None  # refused before the draw: the claim's columns say why
    return head, Prize(awarded, tier_name, drawn, head[8], seq, entry_hash)


def drawn_for(code: str) -> Prize | None:
    """A replayed claim's prize, read back from the log (None for a fixed-points code)."""
    draw = PrizeDraw.objects.filter(code=code).first()
    if draw is None:
        return None
    name = draw.table.tiers.filter(position=draw.awarded).values_list("name", flat=True).first()
    return Prize(draw.awarded, name or "", draw.drawn, draw.points, draw.seq, draw.hash)

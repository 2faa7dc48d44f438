"""The draw's arithmetic, the same as campaigns/prizes/sql/campaigns_claim_prize.sql does it.

The claim function draws in the database (in the claim's one round trip); this module
is the published description of the same steps, run by the verifier (``verify.py``)
and by anyone holding the revealed seed and the log:

- a block is HMAC-SHA256(seed, ``draw|<seq>|<nonce>|<i>``) for i = 0, 1, …;
- the ticket is the top ``k`` bits of a block's first four bytes (big-endian), ``k``
  the bit length of total weight - 1; a ticket at or above the total weight is
  rejected and the next block tried (rejection sampling: every ticket in
  0 … total - 1 is equally likely; a modulo would favour the low ones);
- the drawn tier is the first whose cumulative weight exceeds the ticket;
- an exhausted capped tier gives way to the next tier below it that has a unit left
  (the last tier, "thank you", has no cap);
- with the first-scan guarantee (decision 0280), a draw that is its player's first entry
  in the log and was awarded a tier paying nothing is awarded the lowest paying tier
  (``guarantee``); such a table's entries carry the player's tag and the reason;
- the entry's hash is SHA-256 of ``v1|prev|seq|period|nonce|drawn|awarded|points``, or
  with the guarantee ``v2|prev|seq|period|nonce|drawn|awarded|points|player|guarantee``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

MAX_BLOCKS = 256


@dataclass(frozen=True)
class Tier:
    position: int
    points: int
    weight: int
    cap: int | None


def commitment(seed: bytes) -> str:
    """What is published before the seed is used."""
    return hashlib.sha256(seed).hexdigest()


def hmac_pads(seed: bytes) -> bytes:
    """HMAC-SHA256's inner and outer padded keys for ``seed`` (at most 64 bytes), joined:
    what campaigns_claim_prize hashes with, so that HMAC there is two ``sha256`` calls."""
    key = seed.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key) + bytes(b ^ 0x5C for b in key)


def ticket(seed: bytes, seq: int, nonce: str, total_weight: int) -> int:
    """A ticket uniform in 0 … total_weight - 1, by rejection sampling."""
    bits = (total_weight - 1).bit_length()
    for i in range(MAX_BLOCKS):
        block = hmac.new(seed, f"draw|{seq}|{nonce}|{i}".encode(), hashlib.sha256).digest()
        value = int.from_bytes(block[:4], "big") >> (32 - bits)
        if value < total_weight:
            return value
    raise RuntimeError(f"draw {seq} found no ticket in {MAX_BLOCKS} blocks")


def drawn_tier(tiers: Sequence[Tier], value: int) -> int:
    """The position of the tier the ticket falls in (tiers in position order)."""
    cumulative = 0
    for tier in tiers:
        cumulative += tier.weight
        if value < cumulative:
            return tier.position
    raise ValueError(f"ticket {value} beyond the total weight {cumulative}")


def awarded_tier(tiers: Sequence[Tier], drawn: int, won: dict[int, int]) -> Tier:
    """The published fallback rule: the drawn tier, or the first one below it with a unit
    left. ``won`` (units given per position so far) is updated."""
    for tier in tiers:
        if tier.position < drawn:
            continue
        if tier.cap is None:
            return tier
        if won.get(tier.position, 0) < tier.cap:
            won[tier.position] = won.get(tier.position, 0) + 1
            return tier
    raise ValueError("the last tier must have no cap")


# Why a draw's award differs from the published fallback rule's: the player's first draw.
FIRST_SCAN = "first-scan"


def guarantee(tiers: Sequence[Tier], awarded: Tier, first: bool) -> tuple[Tier, str]:
    """The first-scan guarantee over an awarded tier: the lowest paying tier (uncapped, so
    always there) for a first draw that won nothing, with the reason logged."""
    if not first or awarded.points > 0:
        return awarded, ""
    return max((t for t in tiers if t.points > 0), key=lambda t: t.position), FIRST_SCAN


def entry_hash(
    prev: str,
    seq: int,
    period: int,
    nonce: str,
    drawn: int,
    awarded: int,
    points: int,
    *guaranteed: str,
) -> str:
    """The entry's hash; ``guaranteed`` (player, reason) for a table with the guarantee."""
    text = f"{prev}|{seq}|{period}|{nonce}|{drawn}|{awarded}|{points}"
    if guaranteed:
        player, why = guaranteed
        text = f"v2|{text}|{player}|{why}"
    else:
        text = f"v1|{text}"
    return hashlib.sha256(text.encode()).hexdigest()

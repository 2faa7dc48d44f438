"""The public verifier: recompute every draw of a campaign from its log and revealed seeds.

``published(table)`` is the document the campaign publishes (terms, commitments, seeds
once revealed, the log, its head); ``verify(document)`` checks it using nothing but the
document and ``draw.py``'s arithmetic, so the page, the management command
(``verify_prize_draws``, which also reads a downloaded document) and anyone else reach
the same answer:

1. every revealed seed hashes to the commitment published before its draws;
2. the log is a chain: sequence numbers 1, 2, …; each entry's ``prev`` is the previous
   entry's hash (the first's is all zeros) and its hash is recomputed from its fields;
   the published head is the last entry;
3. every draw under a revealed seed is recomputed: its ticket, the tier it landed on,
   and, replaying the caps in the log's order, the tier it was awarded and its points.
   Draws whose seed is still secret are checked as links of the chain only (pending).
4. with the first-scan guarantee (``guarantee`` names the tier), each entry also carries
   its player's tag and the reason its award was raised (``first-scan``); the reason must
   be there exactly when the entry is its tag's first in the log and the draw, by 3., won
   nothing. A tag names no one (decision 0280): the log shows that the same unnamed
   person drew again, not who.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaigns.models import GENESIS, PrizeDraw, PrizeSeed, PrizeTable
from campaigns.prizes import draw

FORMAT = "prize-draw-log/v1"


def published(table: PrizeTable) -> dict[str, Any]:
    """The campaign's public document. Seeds appear only once revealed.

    The head is read first and the log up to it: draws committing meanwhile belong to the
    next document, not to this one's head.
    """
    draws, head = PrizeTable.objects.values_list("draws", "head").get(pk=table.pk)
    seeds = PrizeSeed.objects.filter(table=table).order_by("period")
    log = PrizeDraw.objects.filter(table=table, seq__lte=draws).order_by("seq")
    return {
        "format": FORMAT,
        "campaign": table.campaign.name,
        "lockedAt": table.locked_at.isoformat() if table.locked_at else None,
        "tiers": [
            {
                "position": t.position,
                "name": t.name,
                "points": t.points,
                "weight": t.weight,
                "cap": t.cap,
                # A coupon tier: the mall product it pays (points: its price).
                "coupon": t.coupon_product_id,
            }
            for t in table.tiers.all()
        ],
        "seeds": [
            {
                "period": s.period,
                "commitment": s.commitment,
                "committedAt": s.committed_at.isoformat(),
                "seed": bytes(s.seed).hex() if s.revealed_at else None,
                "revealedAt": s.revealed_at.isoformat() if s.revealed_at else None,
            }
            for s in seeds
        ],
        "guarantee": (
            {"rule": draw.FIRST_SCAN, "tier": table.guaranteed_position()}
            if table.first_scan_guarantee
            else None
        ),
        "head": {"draws": draws, "hash": head},
        "log": [
            [e.seq, e.period, e.nonce, e.drawn, e.awarded, e.points, e.prev_hash, e.hash]
            + ([e.player, e.guarantee] if table.first_scan_guarantee else [])
            for e in log.iterator(chunk_size=5000)
        ],
    }


@dataclass
class Report:
    draws: int = 0
    recomputed: int = 0
    pending: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(document: dict[str, Any]) -> Report:
    report = Report()
    if document.get("format") != FORMAT:
        report.problems.append(f"not a {FORMAT} document")
        return report
    tiers = [
        draw.Tier(t["position"], t["points"], t["weight"], t["cap"]) for t in document["tiers"]
    ]
    total = sum(t.weight for t in tiers)
    seeds: dict[int, bytes] = {}
    for s in document["seeds"]:
        if s["seed"] is None:
            continue
        seed = bytes.fromhex(s["seed"])
        if draw.commitment(seed) != s["commitment"]:
            report.problems.append(f"seed of period {s['period']} does not match its commitment")
        else:
            seeds[s["period"]] = seed
    won: dict[int, int] = {}
    guaranteed = document.get("guarantee") is not None
    if guaranteed and document["guarantee"] != {
        "rule": draw.FIRST_SCAN,
        "tier": max(t.position for t in tiers if t.points > 0),
    }:
        report.problems.append("the guarantee is not the first-scan rule on the lowest prize")
    players: set[str] = set()
    prev = GENESIS
    # Once a draw cannot be recomputed, the caps after it are unknown: later draws are
    # checked as links only.
    caps_known = True
    for i, row in enumerate(document["log"], start=1):
        seq, period, nonce, drawn, awarded, points, prev_hash, entry = row[:8]
        extra: list[str] = row[8:]
        report.draws += 1
        if seq != i:
            report.problems.append(f"entry {i}: sequence number {seq}, expected {i}")
        if len(extra) != (2 if guaranteed else 0):
            report.problems.append(f"draw {seq}: the entry's fields do not fit the terms")
            extra = ["", ""] if guaranteed else []
        if prev_hash != prev:
            report.problems.append(f"draw {seq}: does not follow the previous entry")
        if draw.entry_hash(prev_hash, seq, period, nonce, drawn, awarded, points, *extra) != entry:
            report.problems.append(f"draw {seq}: its hash does not match its fields")
        prev = entry
        first = False
        if guaranteed:
            first = extra[0] not in players
            players.add(extra[0])
        period_seed = seeds.get(period)
        if period_seed is None or not caps_known:
            caps_known = False
            report.pending += 1
            continue
        expected_drawn = draw.drawn_tier(tiers, draw.ticket(period_seed, seq, nonce, total))
        expected = draw.awarded_tier(tiers, expected_drawn, won)
        why = ""
        if guaranteed:
            expected, why = draw.guarantee(tiers, expected, first)
            if extra[1] != why:
                report.problems.append(
                    f"draw {seq}: logged reason {extra[1]!r}, recomputed {why!r}"
                    + (" (the player's first draw)" if first else " (the player drew before)")
                )
        if (drawn, awarded, points) != (expected_drawn, expected.position, expected.points):
            report.problems.append(
                f"draw {seq}: logged tier {drawn}→{awarded} ({points} points), "
                f"recomputed {expected_drawn}→{expected.position} ({expected.points} points)"
            )
        report.recomputed += 1
    head = document["head"]
    if head["draws"] != report.draws or head["hash"] != prev:
        report.problems.append("the published head is not the log's last entry")
    return report

"""Signing deliveries, and the check a receiver runs (also used by our tests).

Header: ``X-Loyalty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
The timestamp is inside the signed text, so a replayed request cannot be given a
fresh one; receivers refuse old timestamps and event ids they have already seen.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import MutableMapping

SIGNATURE_HEADER = "X-Loyalty-Signature"
EVENT_ID_HEADER = "X-Loyalty-Event-Id"
EVENT_TYPE_HEADER = "X-Loyalty-Event-Type"
DELIVERY_ID_HEADER = "X-Loyalty-Delivery-Id"
ATTEMPT_HEADER = "X-Loyalty-Attempt"
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    # 256 bits: HMAC-SHA256's block is bigger, its security is the key's entropy.
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class InvalidSignature(Exception):
    """The request was not signed with the secret, or is too old (a replay)."""


class Replayed(InvalidSignature):
    """A correctly signed request whose event id was already accepted."""


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a delivery's signature and age; returns its timestamp.

    Raises ``InvalidSignature`` for a missing or wrong signature, or a timestamp more
    than ``tolerance`` seconds from ``now`` (a replay of an old request).
    """
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _sep, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("no timestamp") from exc
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise InvalidSignature("signature does not match")
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise InvalidSignature("timestamp outside the tolerance")
    return timestamp


class Receiver:
    """What a receiver keeps to refuse replays: event ids accepted (with their time).

    Ids must be kept at least as long as the timestamp tolerance: an older replay is
    refused by its timestamp, a newer one by its id.
    """

    def __init__(self, secret: str, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
        self.secret, self.tolerance = secret, tolerance
        self.seen: MutableMapping[str, int] = {}

    def accept(
        self, headers: MutableMapping[str, str], body: bytes, now: float | None = None
    ) -> bool:
        """True the first time an event arrives; False for a retry of one already
        accepted (answer 2xx anyway); ``InvalidSignature`` for a forgery or a replay."""
        timestamp = verify(
            self.secret, headers.get(SIGNATURE_HEADER, ""), body, tolerance=self.tolerance, now=now
        )
        event_id = headers.get(EVENT_ID_HEADER, "")
        if event_id in self.seen:
            if self.seen[event_id] == timestamp:
                raise Replayed(f"request for event {event_id} seen before")
            return False
        self.seen[event_id] = timestamp
        return True

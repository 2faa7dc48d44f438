"""Signing deliveries, and the check a receiver runs (also used by our tests).

Two signatures on every delivery (decision 0238):

- **Standard Webhooks** (https://www.standardwebhooks.com/), which merchants verify
  with an existing library (``standardwebhooks``, svix's, …): ``webhook-id`` (the
  event id, the same on every retry), ``webhook-timestamp`` (unix seconds) and
  ``webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>``,
  the key being the base64 after ``whsec_`` in the endpoint's secret.
- Ours until now, kept for one release so receivers can switch:
  ``X-Loyalty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

In both the timestamp is inside the signed text, so a replayed request cannot be given
a fresh one; receivers refuse old timestamps and event ids they have already seen.
"""

from __future__ import annotations

import base64
import binascii
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
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


def new_secret() -> str:
    # 256 bits: HMAC-SHA256's block is bigger, its security is the key's entropy. Standard
    # base64 after the prefix, as Standard Webhooks libraries in every language decode it.
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_key(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks signature: the secret's base64 decoded.

    Secrets made before decision 0238 are URL-safe base64 without padding, which the
    standard's libraries do not all decode alike: for those the key is the secret's own
    bytes (Python: ``Webhook(secret.encode())``); rotating the secret gives a new-style one.
    """
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(standard_key(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def standard_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one request."""
    return {
        STANDARD_ID_HEADER: message_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: sign_standard(secret, message_id, timestamp, body),
    }


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

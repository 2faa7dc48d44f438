"""Hidden verification codes (刮开涂层): a second secret per code, under a scratch-off.

A batch created with ``hidden_code`` has one: eight random digits per code, made and
shown **once**, by the batch's one issuing export (CSV or PDF labels, decision 0290),
stored only as ``HiddenCode.digest``: HMAC-SHA256 under ``settings.HIDDEN_CODE_KEY`` of
the code and the secret. A dump of the database holds no secret and, without the key,
no way to test one (10^8 candidates per code are nothing for a plain hash; a keyed one
needs the key, which lives in the environment, not the database).

The anti-counterfeit answer of such a code (``verification.verify_code``) needs the
secret. Wrong guesses are limited per code (``MAX_WRONG_PER_CODE`` a day: a label's
eight digits cannot be walked through) and per client (``MAX_WRONG_PER_IP`` an hour),
through ``core.ratelimit``; a refused guess answers ``HIDDEN_CODE_WRONG``, a missing
one ``HIDDEN_CODE_REQUIRED``, a limit ``RATE_LIMITED``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from campaigns.error_codes import CampaignErrorCode
from campaigns.models import HiddenCode
from core import ratelimit
from core.errors import DomainError

DIGITS = 8  # 26.6 bits: typed on a phone, and guarded by the per-code limit
MAX_WRONG_PER_CODE = 5
CODE_WINDOW_SECONDS = 24 * 3600
MAX_WRONG_PER_IP = 20
IP_WINDOW_SECONDS = 3600
# Rows written per statement while an export issues secrets.
FLUSH_EVERY = 2_000


def _key() -> bytes:
    configured = settings.HIDDEN_CODE_KEY
    if configured:
        return configured.encode()
    # Derived, not SECRET_KEY itself: a key used for one purpose only.
    return hashlib.sha256(b"campaigns.hidden_code:" + settings.SECRET_KEY.encode()).digest()


def digest(code: str, secret: str) -> bytes:
    """The stored form of ``secret`` for ``code``: bound to the code, so equal secrets of
    two codes hash apart and a digest cannot be moved to another code."""
    return hmac.new(_key(), f"{code}:{secret}".encode(), hashlib.sha256).digest()


def new_secret() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def normalize(raw: str) -> str:
    """What a buyer types: digits, perhaps with spaces or hyphens."""
    return "".join(char for char in raw if not char.isspace() and char != "-")


class Issuer:
    """Makes each code's secret as an export writes it, and stores its digest.

    Digests are upserted (a re-run of the issuing export, after its worker died, issues
    new secrets: its earlier file never became downloadable) ``FLUSH_EVERY`` at a time.
    """

    def __init__(self) -> None:
        self.pending: list[tuple[str, bytes]] = []

    def __call__(self, code: str) -> str:
        secret = new_secret()
        self.pending.append((code, digest(code, secret)))
        if len(self.pending) >= FLUSH_EVERY:
            self.flush()
        return secret

    def flush(self) -> None:
        if not self.pending:
            return
        codes = [code for code, _digest in self.pending]
        digests = [value for _code, value in self.pending]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {HiddenCode._meta.db_table} (code, digest)
                SELECT * FROM unnest(%s::varchar[], %s::bytea[])
                ON CONFLICT (code) DO UPDATE SET digest = EXCLUDED.digest
                """,
                [codes, digests],
            )
        self.pending.clear()


def check(merchant_id: int, code: str, given: str | None, ip: str | None) -> None:
    """Pass if ``given`` is ``code``'s hidden code; else a coded ``DomainError``.

    Run in the merchant's schema. The limits are checked before the comparison and
    counted after a wrong guess only: a buyer who types it right is never held up by
    someone else's guesses at other codes.
    """
    if not given:
        raise DomainError(
            CampaignErrorCode.HIDDEN_CODE_REQUIRED,
            _("Scratch off the coating on the label and enter the hidden code."),
            "hiddenCode",
        )
    per_code = f"hidden-fail:code:{merchant_id}:{code}"
    per_ip = f"hidden-fail:ip:{ip}" if ip else None
    ratelimit.ensure_below(per_code, MAX_WRONG_PER_CODE, CODE_WINDOW_SECONDS)
    if per_ip:
        ratelimit.ensure_below(per_ip, MAX_WRONG_PER_IP, IP_WINDOW_SECONDS)
    stored = HiddenCode.objects.filter(code=code).values_list("digest", flat=True).first()
    expected = bytes(stored) if stored is not None else None
    if expected is None or not hmac.compare_digest(expected, digest(code, normalize(given))):
        ratelimit.hit(per_code, MAX_WRONG_PER_CODE, CODE_WINDOW_SECONDS)
        if per_ip:
            ratelimit.hit(per_ip, MAX_WRONG_PER_IP, IP_WINDOW_SECONDS)
        raise DomainError(
            CampaignErrorCode.HIDDEN_CODE_WRONG,
            _("The hidden code does not match. Check the digits under the coating."),
            "hiddenCode",
        )

"""Scan codes: what they look like, how they are made and checked.

A code is 18 characters of Crockford base32 (no I, L, O, U: nothing to confuse)::

    MMMM RRRRRRRRRRRRR C
    │    │             └ check character (Luhn mod 32): typos are rejected before
    │    │               any database query
    │    └ 13 random characters = 65 bits from ``secrets``: unguessable
    └ the merchant's id in base32: the merchant is found by primary key, O(1),
      without searching schemas

Typed codes are normalised the Crockford way: case is ignored, hyphens and spaces
are dropped, I/L read as 1 and O as 0.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from campaigns.error_codes import CampaignErrorCode
from core.errors import DomainError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VALUE = {char: index for index, char in enumerate(ALPHABET)}
BASE = len(ALPHABET)
MERCHANT_WIDTH = 4  # 32**4 = 1,048,576 merchants
RANDOM_WIDTH = 13  # 65 bits
LENGTH = MERCHANT_WIDTH + RANDOM_WIDTH + 1
MAX_MERCHANT_ID = BASE**MERCHANT_WIDTH - 1
_TYPO = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})
# Every claim checks its code before anything else: the shape by one regular expression
# and the Luhn sum by two table lookups per character (the digit itself, or doubled and
# its base-32 digits summed), instead of a Python test and arithmetic per character.
_SHAPE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
_DOUBLED = {char: 2 * value // BASE + 2 * value % BASE for char, value in VALUE.items()}


class CodeError(DomainError):
    pass


@dataclass(frozen=True)
class ParsedCode:
    code: str
    merchant_id: int
    # An imported code whose claim needs the label's hidden code (routing, decision 0314).
    needs_hidden_code: bool = False


def check_character(payload: str) -> str:
    """Luhn mod 32 over ``payload``: catches every single wrong character and most swaps.

    From the right, every other character counts doubled (the last one first).
    """
    total = sum(map(_DOUBLED.__getitem__, payload[::-2])) + sum(
        map(VALUE.__getitem__, payload[-2::-2])
    )
    return ALPHABET[(BASE - total % BASE) % BASE]


def encode_merchant(merchant_id: int) -> str:
    if not 0 < merchant_id <= MAX_MERCHANT_ID:
        raise ValueError(f"merchant id {merchant_id} does not fit in a code")
    digits = []
    for _position in range(MERCHANT_WIDTH):
        merchant_id, digit = divmod(merchant_id, BASE)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def decode_merchant(prefix: str) -> int:
    """The merchant id in a normalised prefix of ``MERCHANT_WIDTH`` alphabet characters."""
    merchant_id = 0
    for char in prefix:
        merchant_id = merchant_id * BASE + VALUE[char]
    return merchant_id


def new_code(merchant_prefix: str) -> str:
    payload = merchant_prefix + "".join(
        secrets.choice(ALPHABET) for _position in range(RANDOM_WIDTH)
    )
    return payload + check_character(payload)


def normalize(raw: str) -> str:
    return (raw or "").strip().upper().translate(_TYPO)


def parse(raw: str) -> ParsedCode:
    """Validate a scanned or typed code without touching the database."""
    code = normalize(raw)
    if _SHAPE.fullmatch(code) is None:
        raise CodeError(
            CampaignErrorCode.MALFORMED_CODE,
            _("This is not a valid code. Check it and try again."),
            "code",
        )
    if check_character(code[:-1]) != code[-1]:
        raise CodeError(
            CampaignErrorCode.INVALID_CHECK_CHARACTER,
            _("This code has a typo. Check each character and try again."),
            "code",
        )
    return ParsedCode(code=code, merchant_id=decode_merchant(code[:MERCHANT_WIDTH]))


def scan_url(code: str) -> str:
    """What the QR code encodes: the consumer page for this code."""
    return f"{settings.PUBLIC_BASE_URL}/s/{code}"


def pretty(code: str) -> str:
    """Printed under the QR code, in groups that are easy to type: XXXX-XXXX-XXXX-XXXXXX."""
    return f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}"

"""Which merchant a scanned code belongs to, in O(1), ours or imported (decision 0206).

Our own codes name their merchant in their first four characters: ``parse`` finds it
with no database query, as before imports existed, so our claims cost exactly what
they did, and a code of our shape whose check character fails is a typo, refused with
no query as before. A code that cannot be ours (another length, or a character outside
our alphabet) may be a packaging printer's code imported by a merchant: it is looked up
by the primary key of the public routing table (``tenants.CodeRoute``, keyed by the MD5
of the normalised code), one index lookup whatever the number of merchants. Not found
there, the code is refused with the error ``parse`` gave. The same row says whether the
code's claim needs the label's hidden code (``ParsedCode.needs_hidden_code``, decision
0314): known from the lookup already made, so neither kind of code pays a query for it.
"""

from __future__ import annotations

import re

from campaigns.models.imports import MAX_IMPORTED_CODE_LENGTH, MIN_IMPORTED_CODE_LENGTH
from campaigns.scan.codes import ALPHABET, LENGTH, CodeError, ParsedCode, normalize, parse, pretty
from core.db import rows
from tenants.models import CodeRoute, route_key

# What an imported code may be once normalised like ours (case folded, I/L read as 1, O
# as 0, hyphens and spaces dropped): letters and digits, 8 to 32 of them.
IMPORTED_SHAPE = re.compile(f"[0-9A-Z]{{{MIN_IMPORTED_CODE_LENGTH},{MAX_IMPORTED_CODE_LENGTH}}}")
# An imported shape that normalising leaves as it is (no I, L or O): a fast path for the
# import's check of millions of lines (importing.LineRules.code).
NORMALISED = re.compile(f"[0-9A-HJKMNP-Z]{{{MIN_IMPORTED_CODE_LENGTH},{MAX_IMPORTED_CODE_LENGTH}}}")
# Our own format: a code of this shape that fails ``parse`` is a typo of ours, refused
# with no query as before imports; no imported code has it unless it is a valid code of
# the importing merchant (``importing.LineRules``, decision 0206).
OUR_SHAPE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
ROUTE_SQL = (
    f"SELECT merchant_id, needs_hidden_code FROM {rows.public_table(CodeRoute)} WHERE key = %s"
)


def route(raw: str) -> ParsedCode:
    """The normalised code and its merchant; raises ``CodeError`` as ``parse`` does."""
    try:
        return parse(raw)
    except CodeError:
        code = normalize(raw)
        if IMPORTED_SHAPE.fullmatch(code) is None or OUR_SHAPE.fullmatch(code):
            raise
        row = rows.fetch_one(ROUTE_SQL, [route_key(code)], any_path=True)
        if row is None:
            raise
        return ParsedCode(code=code, merchant_id=row[0], needs_hidden_code=row[1])


def checked(raw: str) -> str:
    """The normalised code if it can be ours or an imported one; ``CodeError`` otherwise.

    No query: for the scan page, which opens before anything is asked of the API.
    """
    try:
        return parse(raw).code
    except CodeError:
        code = normalize(raw)
        if IMPORTED_SHAPE.fullmatch(code) is None or OUR_SHAPE.fullmatch(code):
            raise
        return code


def printable(code: str) -> str:
    """How the page shows a code: ours in their printed groups, imported ones by fours."""
    if len(code) == LENGTH:
        return pretty(code)
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))

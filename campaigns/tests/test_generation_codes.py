"""The codes a batch's generation makes in bulk are the codes ``campaigns.scan.codes`` defines.

``generation.new_codes`` computes the check character from per-byte tables instead
of calling ``codes.check_character`` per code; here every one of a large sample is
checked against it, and against ``parse``, the claim's own validation.
"""

from __future__ import annotations

from collections import Counter

from campaigns.scan import codes
from campaigns.scan.generation import copy_text, new_codes

SAMPLE = 50_000


def test_bulk_codes_are_valid_codes_of_the_merchant() -> None:
    for merchant_id in (1, 7, 1234, codes.MAX_MERCHANT_ID):
        prefix = codes.encode_merchant(merchant_id)
        made = new_codes(prefix, SAMPLE)
        assert len(made) == SAMPLE
        assert len(set(made)) == SAMPLE
        for code in made:
            assert len(code) == codes.LENGTH and code.startswith(prefix)
            assert code[-1] == codes.check_character(code[:-1]), code
        assert {codes.parse(code).merchant_id for code in made[:2_000]} == {merchant_id}


def test_every_random_position_takes_every_character_about_evenly() -> None:
    made = new_codes("0001", SAMPLE)
    expected = SAMPLE / codes.BASE  # about 1,560 of each character at each position
    for position in range(codes.MERCHANT_WIDTH, codes.LENGTH - 1):
        counts = Counter(code[position] for code in made)
        assert set(counts) == set(codes.ALPHABET), position
        assert all(0.8 * expected < n < 1.2 * expected for n in counts.values()), counts


def test_copy_text_numbers_the_serials_of_the_chunk() -> None:
    rows = [line.split("\t") for line in copy_text("0001", 42, 1_000, 1_300).splitlines()]
    assert sorted(int(serial) for _code, _batch, serial in rows) == list(range(1_000, 1_300))
    assert {batch for _code, batch, _serial in rows} == {"42"}
    assert all(codes.parse(code).merchant_id == 1 for code, _batch, _serial in rows)

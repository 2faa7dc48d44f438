"""A consumer's pseudonymous id at one merchant (``consumerRef``).

Merchants see a consumer only through this id (webhook payloads, the earning API),
never our internal id. It is one AES-128 block over ``(merchant id, consumer id)``
under a key derived from ``SECRET_KEY``: a keyed permutation, so

- the same consumer has one id per merchant, and the ids of one consumer at two
  merchants look unrelated (matching them needs the key);
- we can turn an id back into the consumer without a lookup table, and an id given
  to one merchant names no one when another merchant sends it;
- an id cannot be guessed: 128 bits, of which a valid one is a needle in 2^64.

One block, no mode or IV: the input is always exactly one block and must map to the
same id every time (deterministic on purpose), which is what a block cipher is.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

# 16 bytes = 32 hex characters.
REF_LENGTH = 32
_MAGIC = b"CREF"  # the first 4 bytes of every plaintext: a forged id decrypts to noise


def _cipher() -> Cipher[modes.ECB]:
    return _cipher_for(settings.SECRET_KEY)


@functools.lru_cache(maxsize=2)
def _cipher_for(secret_key: str) -> Cipher[modes.ECB]:
    # Derived once per key, not per id: every claim with a webhook listener names its
    # consumer (a Cipher holds no state between encryptors; each call makes its own).
    key = hmac.new(secret_key.encode(), b"consumer-ref-v1", hashlib.sha256).digest()
    return Cipher(algorithms.AES(key[:16]), modes.ECB())


def consumer_ref(merchant_id: int, consumer_id: int) -> str:
    """The consumer's id as the merchant sees it."""
    block = _MAGIC + struct.pack(">IQ", merchant_id, consumer_id)
    encryptor = _cipher().encryptor()
    return (encryptor.update(block) + encryptor.finalize()).hex()


def consumer_of_ref(merchant_id: int, ref: str) -> int | None:
    """The consumer id that ``ref`` names at ``merchant_id``; None for any other value
    (malformed, forged, or another merchant's id for the same consumer)."""
    ref = (ref or "").strip().lower()
    if len(ref) != REF_LENGTH:
        return None
    try:
        block = bytes.fromhex(ref)
    except ValueError:
        return None
    decryptor = _cipher().decryptor()
    plain = decryptor.update(block) + decryptor.finalize()
    if plain[:4] != _MAGIC:
        return None
    owner, consumer_id = struct.unpack(">IQ", plain[4:])
    return consumer_id if owner == merchant_id else None

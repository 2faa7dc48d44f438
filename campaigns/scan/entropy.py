"""How guessable a file of imported codes is, measured while it streams (decision 0207).

Two measures, of which the smaller is the file's bits per code:

- **Characters**: the Shannon entropy of each position's characters, summed over the
  positions, as if positions were independent. Sixteen random digits give 53 bits;
  a fixed brand prefix gives nothing.
- **Neighbours**: sort the codes as numbers (base 36) and look at the gaps between
  consecutive ones. Random codes spread over a space of ``S`` values leave gaps of about
  ``S / n``, so ``log2(n x median gap)`` is ``log2(S)``, the same bits; sequential
  codes (serials, serials with a check digit, runs per box) leave small gaps, so knowing
  one code tells a guesser its neighbours, and this measure falls to about ``log2(n)``.

Both are computed on a uniform sample of the file (reservoir sampling, Li's algorithm
L: a few random numbers per sampled code, none per skipped one), so memory stays
bounded whatever the file's size. A sample of ``k`` codes out of ``n`` sees gaps
``n / k`` times wider, which the neighbour measure scales back.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

SAMPLE_SIZE = 65_536
# Below this a file is refused (decision 0207). Our own codes carry 65 random bits; a
# printer's 16 random digits carry 53. At 48 bits and the largest file (5,000,000
# codes, 22 bits), a guesser still needs about 50,000,000 guesses per valid code,
# against our per-IP and per-consumer limits on failed scans.
MIN_BITS_PER_CODE = 48.0


class EntropyMeter:
    """Fed the accepted codes of a file chunk by chunk; tells their bits per code."""

    def __init__(self, sample_size: int = SAMPLE_SIZE, seed: int | None = None) -> None:
        self.sample_size = sample_size
        self.sample: list[str] = []
        self.count = 0
        self._random = random.Random(seed)
        self._weight = 1.0
        self._next = 0  # index (over all codes fed) of the next code to take

    def add(self, codes: Sequence[str]) -> None:
        start, end = self.count, self.count + len(codes)
        room = self.sample_size - len(self.sample)
        if room > 0:
            self.sample.extend(codes[:room])
            if len(self.sample) == self.sample_size:
                self._advance(self.sample_size - 1)
        while self._next < end and len(self.sample) == self.sample_size:
            self.sample[self._random.randrange(self.sample_size)] = codes[self._next - start]
            self._advance(self._next)
        self.count = end

    def _advance(self, position: int) -> None:
        # Algorithm L: the weight shrinks geometrically; the skip is geometric in it.
        k = self.sample_size
        self._weight *= math.exp(math.log(1.0 - self._random.random()) / k)
        skip = math.floor(math.log(1.0 - self._random.random()) / math.log1p(-self._weight))
        self._next = position + skip + 1

    def character_bits(self) -> float:
        """Sum over positions of the sampled characters' Shannon entropy."""
        if not self.sample:
            return 0.0
        total = 0.0
        width = max(map(len, self.sample))
        for position in range(width):
            counts = Counter(code[position] if position < len(code) else "" for code in self.sample)
            n = len(self.sample)
            total -= sum(c / n * math.log2(c / n) for c in counts.values())
        return total

    def neighbour_bits(self) -> float:
        """``log2(n x median gap)`` between sorted codes, the gap scaled to the whole file."""
        values = sorted({int(code, 36) for code in self.sample})
        if len(values) < 2:
            return 0.0
        gaps = sorted(b - a for a, b in pairwise(values))
        median = gaps[len(gaps) // 2]
        # A sample of k out of n codes sees gaps n/k times the file's: n x gap x k / n.
        return math.log2(median * len(values)) if median else 0.0

    def bits_per_code(self) -> float:
        return round(min(self.character_bits(), self.neighbour_bits()), 1)

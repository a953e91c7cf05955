"""The closure check's parameters (:mod:`sbas_selector.core.closure` says what each step does)."""

from __future__ import annotations

#: A misclosure counts when its distance to the nearest non-zero whole cycle is below this,
#: cycles (0.35: at least 0.65 cycle, about 4.1 rad).
INTEGER_TOLERANCE = 0.35
#: Side of the blocks on which each triplet's smooth non-integer closure is estimated, pixels.
SMOOTH_BLOCK = 16
#: Smallest patch that is repaired, pixels (smaller misclosed clusters are counted, not repaired).
MIN_PATCH_PIXELS = 6
#: Smallest island that no triplet tests but the pair's own 2 pi step outlines (noise makes
#: smaller ones; the unwrapping errors of real stacks are about a dozen pixels and more).
ISLAND_MIN_PIXELS = 10
#: Closed triplets that must agree on a pixel's error for a correction.
MIN_SUPPORT_TO_CORRECT = 2
#: Share of a pair's closed triplets (with data at the pixel) that must agree for a correction.
MIN_AGREEMENT = 0.6
#: A patch is corrected when at least this share of its pixels carries correction-grade evidence.
CORRECT_SHARE = 0.8
#: Above this share of its valid pixels in patches, a pair is dropped, not repaired.
MAX_REPAIR_SHARE = 0.02
#: Rounds of attribution (each removes the errors found so far and looks again).
ROUNDS = 3
#: Largest phase cube the check holds in memory, GiB (a 40-date 256² stack of 190 pairs is
#: 0.05 GiB; a Sentinel-1 frame at 80 m with 400 pairs about 11 GiB): a larger stack is
#: streamed within this budget, half of it for the pairs kept between triplets.
MEMORY_GB = 2.0
#: Threads closing triplets and reading pairs (numpy and GDAL release the GIL).
THREADS = 2
#: Triplets closed at once (memory: this many float32 rasters, and about ten times that while
#: they are closed)...
TRIPLET_CHUNK = 32
#: ... and at most this many pixels of them (about 160 MiB per thread while closing; a
#: frame's triplets are closed one by one).
CHUNK_PIXELS = 2**22
#: A pair's own phase steps at a patch's edge by its cycles within this much (cycles), and
#: the other pairs of the triplet by at least 1 - this much.
EDGE_TOLERANCE = 0.3

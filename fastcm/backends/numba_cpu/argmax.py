"""The fused argmax of score rows, shared by the counting and calibration kernels.

Ties go to the lowest column, as ``numpy.argmax``; a NaN anywhere in a row is reported, not
counted. Selects, not branches: random scores would mispredict a branch on every row.
"""

import numpy as np

from ._jit import helper


@helper
def argmax_row(s, i, C, r, arg, top, nan):
    """Argmax, maximum and any-NaN of row ``i`` of ``s`` into slot ``r`` of ``arg``, ``top``, ``nan``."""
    best = s[i, 0]
    isnan = best != best
    a = np.uint64(0)
    for c in range(np.uint64(1), np.uint64(C)):
        v = s[i, c]
        gt = v > best
        a = c if gt else a
        best = v if gt else best
        isnan |= v != v
    arg[r] = a
    top[r] = best
    nan[r] = isnan


@helper
def argmax_4_rows(s, i, C, arg, top, nan):
    """:func:`argmax_row` of rows i..i+3 side by side: four independent compare-select chains
    keep the core busy where one row's chain would wait on its own previous select (see
    ``kernels.FOUR_ROWS_MAX_C`` for where that pays)."""
    b0 = s[i, 0]
    b1 = s[i + 1, 0]
    b2 = s[i + 2, 0]
    b3 = s[i + 3, 0]
    a0 = np.uint64(0)
    a1 = np.uint64(0)
    a2 = np.uint64(0)
    a3 = np.uint64(0)
    n0 = b0 != b0
    n1 = b1 != b1
    n2 = b2 != b2
    n3 = b3 != b3
    for c in range(np.uint64(1), np.uint64(C)):
        v0 = s[i, c]
        v1 = s[i + 1, c]
        v2 = s[i + 2, c]
        v3 = s[i + 3, c]
        g0 = v0 > b0
        g1 = v1 > b1
        g2 = v2 > b2
        g3 = v3 > b3
        a0 = c if g0 else a0
        a1 = c if g1 else a1
        a2 = c if g2 else a2
        a3 = c if g3 else a3
        b0 = v0 if g0 else b0
        b1 = v1 if g1 else b1
        b2 = v2 if g2 else b2
        b3 = v3 if g3 else b3
        n0 |= v0 != v0
        n1 |= v1 != v1
        n2 |= v2 != v2
        n3 |= v3 != v3
    arg[0] = a0
    arg[1] = a1
    arg[2] = a2
    arg[3] = a3
    top[0] = b0
    top[1] = b1
    top[2] = b2
    top[3] = b3
    nan[0] = n0
    nan[1] = n1
    nan[2] = n2
    nan[3] = n3


# The block argmax (``kernels.count_score_rows_wide`` and ``count_score_rows_bits``): a row
# is read in blocks of ``BLOCK_COLS`` columns. Each block is first only tested against the
# running maximum, "any value greater, or NaN", an or-reduction that LLVM vectorises
# (compares into a mask); only a block that passes the test is scanned value by value. In a
# row of random scores a block beats every block before it about ln(C / BLOCK_COLS) + 1
# times, so most of a wide row is read at SIMD speed, and a NaN row stops at its first NaN
# block. Ties stay on the lowest column: a later block equal to the maximum does not pass
# the test, and within a scanned block only a strictly greater value moves the argmax. The
# kernels take the block width from a runtime value, not this constant: a loop of a
# constant trip count is unrolled before the vectoriser sees it, and the unrolled
# reduction stays scalar (checked in the assembly). The loops are written out in each
# kernel: a helper taking the row is not inlined and costs a call per row.

#: columns tested at a time by the block argmax (measured against 32 and 64, float32 and
#: float16 bits, C = 100 to 21,843: 16 the fastest at every C; docs/performance.md)
BLOCK_COLS = 16

"""The fused calibration pass on CuPy arrays: the reference's array code run by CuPy.

Everything stays on the device: the counts and ``invalid`` come back as CuPy arrays and
nothing here synchronises with the host. CuPy is imported on the first call, so importing
this module works without it (``fastcm.answers.calibration`` is import-safe on any machine).
"""

from __future__ import annotations

from ..numpy_ref.calibrating import counts_in


def calibration_counts(t, s, edges, num_classes, *, logits=False, per_class=False):
    import cupy

    return counts_in(cupy, t, s, cupy.asarray(edges), num_classes, logits, per_class)

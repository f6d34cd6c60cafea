"""Warnings fastcm emits.

``UndefinedMetricWarning`` mirrors scikit-learn's: when scikit-learn is already imported,
the warning raised is also an instance of scikit-learn's class, so filters and
``pytest.warns`` written for either library catch it. scikit-learn is never imported for
this.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["UndefinedMetricWarning", "warn_undefined"]


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined (a zero denominator) and was set to ``zero_division``."""


_BRIDGE = None


def _warning_class():
    global _BRIDGE
    sk = sys.modules.get("sklearn.exceptions")
    if sk is None:
        return UndefinedMetricWarning
    if _BRIDGE is None:
        _BRIDGE = type("UndefinedMetricWarning", (UndefinedMetricWarning, sk.UndefinedMetricWarning), {})
        _BRIDGE.__module__ = __name__
    return _BRIDGE


def warn_undefined(message: str, stacklevel: int = 3) -> None:
    warnings.warn(message, _warning_class(), stacklevel=stacklevel)

"""Warnings fastcm emits.

``UndefinedMetricWarning`` mirrors scikit-learn's: when scikit-learn is importable, the
warning raised is also an instance of ``sklearn.exceptions.UndefinedMetricWarning``, so
filters and ``pytest.warns`` written for either library catch it. ``import fastcm`` never
imports scikit-learn: the first warning does (``sklearn.exceptions``), when it is installed.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["UndefinedMetricWarning", "warn_undefined"]


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined (a zero denominator) and was set to ``zero_division``."""


_BRIDGE = None


_SKLEARN_MISSING = False


def _warning_class():
    global _BRIDGE, _SKLEARN_MISSING
    if _BRIDGE is not None:
        return _BRIDGE
    sk = sys.modules.get("sklearn.exceptions")
    if sk is None and not _SKLEARN_MISSING:
        try:
            import sklearn.exceptions as sk
        except ImportError:
            _SKLEARN_MISSING = True
    if sk is None:
        return UndefinedMetricWarning
    if _BRIDGE is None:
        _BRIDGE = type("UndefinedMetricWarning", (UndefinedMetricWarning, sk.UndefinedMetricWarning), {})
        _BRIDGE.__module__ = __name__
    return _BRIDGE


def warn_undefined(message: str, stacklevel: int = 3) -> None:
    warnings.warn(message, _warning_class(), stacklevel=stacklevel)

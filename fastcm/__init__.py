"""fastcm: confusion matrices and classification metrics over billions of predictions.

Counting runs in one pass in compiled kernels (numba on the CPU, CuPy on NVIDIA GPUs);
every metric is arithmetic on the resulting count matrix. ``import fastcm`` is cheap:
numba and CuPy load on first use.

Examples
--------
>>> import fastcm
>>> fastcm.confusion_matrix([0, 1, 1], [0, 1, 0]).tolist()
[[1, 0], [1, 1]]
"""

from .confusion import confusion_matrix
from .stream import ConfusionMatrix

__version__ = "0.1.0"

__all__ = ["ConfusionMatrix", "confusion_matrix", "__version__"]

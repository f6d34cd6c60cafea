"""What a benchmark case is: the host cases (``cases.py``) and the GPU cases (``gpu_cases.py``) build them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Case:
    """A name, a group, the number of predictions it counts, and a ``setup`` returning
    ``{method: callable}`` over freshly generated arrays."""

    group: str
    name: str
    n: int
    setup: object  # () -> {method: callable}
    params: dict = field(default_factory=dict)

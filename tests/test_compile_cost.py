"""What a first call compiles: a handful of kernels, whatever the dtype, byte order or layout."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")

_EVERY_LAYOUT = r"""
import numpy as np, fastcm
from fastcm.backends.numba_cpu import _jit

def layouts(a):
    ro = a.copy(); ro.flags.writeable = False
    out = [a, ro, np.repeat(a, 2)[::2]]
    if a.dtype.itemsize > 1:
        out.append(a.astype(a.dtype.newbyteorder("S")))
    return out

dtypes = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
for dt in dtypes:
    for dp in dtypes:
        t = (np.arange(300) % 2).astype(dt)
        p = (np.arange(300) % 3 % 2).astype(dp)
        for a in layouts(t):
            for b in layouts(p):
                expected = np.bincount(t.astype(np.int64) * 2 + p.astype(np.int64), minlength=4).reshape(2, 2)
                assert (fastcm.confusion_matrix(a, b, num_classes=2, backend="numba") == expected).all()
                assert (fastcm.confusion_matrix(a, b, backend="numba") == expected).all()
kernels = [k for k in _jit.Kernel.made if k.dispatcher.signatures]
print(sum(len(k.dispatcher.signatures) for k in kernels))
for k in kernels:
    print(k.__name__, len(k.dispatcher.signatures))
"""


def test_every_dtype_byte_order_and_layout_compiles_a_handful_of_kernels():
    """81 dtype pairs x 16 layout pairs, declared and inferred classes: before the canonical
    boundary this compiled a kernel per dtype pair and layout (85 in the suite); now the
    label dtypes are uint8, int16, uint16, int32 and int64 (value ranges also uint64),
    read-only arrays are not a type of their own and strided ones are staged."""
    out = subprocess.run([sys.executable, "-c", _EVERY_LAYOUT], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    total = int(out.stdout.split()[0])
    assert total <= 11, out.stdout


_TIERS = r"""
import time, numpy as np, fastcm
from fastcm.backends.numba_cpu import _jit
t = (np.arange(5 * 10**6) % 10).astype(np.int32)
p = (np.arange(5 * 10**6) * 7 % 10).astype(np.int32)
expected = np.bincount(t.astype(np.int64) * 10 + p, minlength=100).reshape(10, 10)
assert (fastcm.confusion_matrix(t, p, num_classes=10) == expected).all()  # the plain tier
assert not _jit._ready, "the tuned kernel cannot be ready at once: it compiles in another process"
start = time.perf_counter()
while not _jit._ready and time.perf_counter() - start < 300:
    assert (fastcm.confusion_matrix(t, p, num_classes=10) == expected).all()
    time.sleep(0.1)
assert _jit._ready == {("paired", "<i4")}, _jit._ready
assert (fastcm.confusion_matrix(t, p, num_classes=10) == expected).all()  # the tuned one
print("ok")
"""


def test_plain_tier_serves_while_the_tuned_kernel_compiles_in_another_process(tmp_path):
    """A large first call counts at once on the plain loop; a separate process compiles the
    tuned strategy into the disk cache, this one loads it when that process is done, and
    both give the same counts."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), FASTCM_COMPILE="background")
    env.pop("FASTCM_DISABLE_CACHE", None)
    out = subprocess.run([sys.executable, "-c", _TIERS], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_warm_up_command_leaves_nothing_to_compile(tmp_path, monkeypatch, capsys):
    """``fastcm warm-up`` compiles ahead: a later process's first calls compile nothing."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("FASTCM_DISABLE_CACHE", None)
    warm = "import fastcm; fastcm.warm_up(label_dtypes=('int32',), score_dtypes=())"
    assert subprocess.run([sys.executable, "-c", warm], env=env, timeout=600).returncode == 0
    probe = (
        "import numpy as np, fastcm\n"
        "from numba.core import event\n"
        "seen = []\n"
        "class L(event.Listener):\n"
        "    def on_start(self, e): seen.append(str(e.data.get('dispatcher')))\n"
        "    def on_end(self, e): pass\n"
        "event.register('numba:compile', L())\n"
        "t = (np.arange(10**6) % 10).astype(np.int32)\n"
        "fastcm.confusion_matrix(t, t[::-1].copy(), num_classes=10)\n"
        "with fastcm.backends.get('numba').compile_synchronously():\n"
        "    fastcm.confusion_matrix(t, t[::-1].copy(), num_classes=10)\n"
        "print(len(seen))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0", out.stdout

    import fastcm.warmup
    from fastcm import cli

    real = fastcm.warmup.warm_up
    monkeypatch.setattr(fastcm.warmup, "warm_up", lambda: real(label_dtypes=("int64",), score_dtypes=()))
    assert cli.main(["warm-up"]) == 0
    assert "kernels ready in" in capsys.readouterr().out


def _first_call_stderr(tmp_path, tty: bool) -> str:
    import pty

    code = "import numpy as np, fastcm; fastcm.confusion_matrix(np.arange(5) % 2, np.arange(5) % 2, num_classes=2, backend='numba')"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    if not tty:
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300).stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_a_compiling_first_call_says_so_once_on_a_terminal_only(tmp_path):
    said = _first_call_stderr(tmp_path / "tty", tty=True)
    assert said.count("fastcm: compiling kernels") == 1, said
    assert "fastcm warm-up" in said
    assert "compiling" not in _first_call_stderr(tmp_path / "pipe", tty=False)


_NUMPY_FIRST = r"""
import time, numpy as np, fastcm
from numba.core import event
from fastcm.backends.numba_cpu import counting, thresholds
compiled = []
class L(event.Listener):
    def on_start(self, e): compiled.append(str(e.data.get("dispatcher")))
    def on_end(self, e): pass
event.register("numba:compile", L())
rng = np.random.default_rng(0)
y, logits = rng.integers(0, 10, 300_000), rng.standard_normal((300_000, 10), dtype=np.float32)
yb, scores = rng.integers(0, 2, 300_000), rng.random(300_000)
logits[777, 3] = np.nan
try:
    fastcm.confusion_matrix(y, logits)
    raise SystemExit("NaN not refused")
except ValueError as exc:
    assert "position 777" in str(exc), exc
logits[777, 3] = 0.0
first = (fastcm.confusion_matrix(y, logits), fastcm.threshold_confusion_matrices(yb, scores))
assert not compiled, compiled  # served by numpy while other processes compile
assert (first[0] == fastcm.confusion_matrix(y, logits, backend="numpy")).all()
assert (first[1] == fastcm.threshold_confusion_matrices(yb, scores, backend="numpy")).all()
start = time.perf_counter()
kernels = (counting._count_score_rows.dispatcher, thresholds._binary_hist.dispatcher)
while not all(k.overloads for k in kernels) and time.perf_counter() - start < 300:
    time.sleep(0.1)
    fastcm.confusion_matrix(y[:8], logits[:8]); fastcm.threshold_confusion_matrices(yb[:8], scores[:8])
assert all(k.overloads for k in kernels), "the kernels never arrived from the disk cache"
assert (fastcm.confusion_matrix(y, logits) == first[0]).all()
assert (fastcm.threshold_confusion_matrices(yb, scores) == first[1]).all()
print("ok")
"""


def test_first_scores_call_counts_on_numpy_while_the_kernel_compiles_elsewhere(tmp_path):
    """Logits and a binary threshold sweep with an empty cache: the first calls compile
    nothing here (numpy's exact integer counts, NaN refused at its position), and give the
    same counts as the numba kernels that another process compiles and caches meanwhile."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), FASTCM_COMPILE="background")
    env.pop("FASTCM_DISABLE_CACHE", None)
    out = subprocess.run([sys.executable, "-c", _NUMPY_FIRST], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr + out.stdout
    assert out.stdout.strip() == "ok"

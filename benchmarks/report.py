"""Turn a results document into the Markdown table and PNG plots."""

from __future__ import annotations

from pathlib import Path


def _primary(methods: dict) -> str | None:
    """The fastcm method the others are compared with (all threads)."""
    for name in methods:
        if name.startswith("fastcm") and "1 thread" not in name and "error" not in methods[name]:
            return name
    return None


def _rate(v: float) -> str:
    return f"{v / 1e9:.2f} G/s" if v >= 1e9 else f"{v / 1e6:.1f} M/s" if v >= 1e5 else f"{v:,.0f}/s"


def _cell(row: dict, ref: dict | None, is_floor: bool) -> str:
    if "error" in row:
        return "n/a"
    spread = f" [{_rate(row['per_second'] * row['median_s'] / row['max_s'])}–{_rate(row['per_second'] * row['median_s'] / row['min_s'])}]"
    if ref is None or ref is row:
        return _rate(row["per_second"]) + spread
    ratio = ref["per_second"] / row["per_second"]
    if is_floor:
        return f"{_rate(row['per_second'])} (fastcm at {100 * ratio:.0f}%)"
    return f"{_rate(row['per_second'])} (fastcm {ratio:,.1f}×)"


def markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = [
        f"Measured {doc['created']} on {m['cpu']} ({m['cores']} cores, numba threads {m['numba_threads']}, "
        f"{m['memory_gib']} GiB){', GPU ' + m['gpu'] if m.get('gpu') else ''}; numpy {m['versions'].get('numpy')}, "
        f"numba {m['versions'].get('numba')}. Throughput in predictions/s, median of repeats after warm-up "
        "[min–max]; in brackets after an anchor, how many times faster fastcm is (for the memory floor: "
        "fastcm's share of the floor's speed).",
        "",
    ]
    groups = {}
    for case in doc["cases"]:
        groups.setdefault(case["group"], []).append(case)
    for group, cases in groups.items():
        methods = []
        for case in cases:
            for name in case["methods"]:
                if name not in methods:
                    methods.append(name)
        lines.append(f"### {group}")
        lines.append("")
        lines.append("| case | " + " | ".join(methods) + " |")
        lines.append("| --- |" + " --- |" * len(methods))
        for case in cases:
            rows = case["methods"]
            primary = _primary(rows)
            ref = rows.get(primary) if primary else None
            # fastcm's own other methods (another thread count, another metric) get no ratio:
            # the brackets say how much faster fastcm is than an anchor
            cells = [_cell(rows[n], None if n.startswith("fastcm") else ref, n == "memory floor") if n in rows else ""
                     for n in methods]
            lines.append(f"| {case['name']} | " + " | ".join(cells) + " |")
        lines.append("")
        peaks = [
            (case["name"], n, r["peak_extra_bytes"])
            for case in cases
            for n, r in case["methods"].items()
            if r.get("peak_extra_bytes") is not None and case["n"] >= 10**7
        ]
        if peaks and group in ("labels", "segmentation", "logits"):
            lines.append("Peak extra memory allocated through numpy during one call (MiB):")
            lines.append("")
            names = [n for n in methods if any(p[1] == n for p in peaks)]
            lines.append("| case | " + " | ".join(names) + " |")
            lines.append("| --- |" + " --- |" * len(names))
            for case in cases:
                if case["n"] < 10**7:
                    continue
                cells = [
                    f"{case['methods'][n]['peak_extra_bytes'] / 2**20:,.1f}" if "peak_extra_bytes" in case["methods"].get(n, {}) else ""
                    for n in names
                ]
                lines.append(f"| {case['name']} | " + " | ".join(cells) + " |")
            lines.append("")
    cold = doc.get("cold_start")
    if cold:
        from .coldstart import table

        lines.append("### cold start (fresh processes; wall / CPU seconds of the import and the first call)")
        lines.append("")
        lines.extend(table(cold))
        lines.append("")
    return "\n".join(lines)


def plots(doc: dict, out: Path) -> list[str]:
    """Throughput against N (log-log) and against C, for each method of the label cases, and
    the logits' GB/s against C beside their memory floor."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    labels = [c for c in doc["cases"] if c["group"] == "labels" and c["params"].get("dtype") == "int32"]
    largest = max((c["params"]["N"] for c in labels), default=0)
    written = []
    for axis, fixed, fname in (("N", "C", "throughput_vs_n.png"), ("C", "N", "throughput_vs_c.png")) if labels else ():
        series = {}
        for case in labels:
            p = case["params"]
            if p.get(fixed) != (10 if fixed == "C" else largest):
                continue
            for name, r in case["methods"].items():
                if "per_second" in r:
                    series.setdefault(name, []).append((p[axis], r["per_second"]))
        if not series or all(len(v) < 2 for v in series.values()):
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, pts in sorted(series.items()):
            pts.sort()
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (predictions)" if axis == "N" else "C (classes)")
        ax.set_ylabel("predictions / s")
        ax.set_title(f"int32 labels, {fixed} = {10 if fixed == 'C' else 'max N'}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=110)
        plt.close(fig)
        written.append(str(out / fname))
    logits = _logits_plot(doc, out, plt)
    return written + ([logits] if logits else [])


def _logits_plot(doc: dict, out: Path, plt):
    """GB/s of (N, C) logits read against C, each method and the memory floor (one read of
    the logits), one line per dtype: where the fused argmax stands against the floor."""
    series = {}
    for case in doc["cases"]:
        p = case["params"]
        if case["group"] != "logits" or "C" not in p:
            continue
        itemsize = 2 if p.get("dtype") == "float16" else 4 if p.get("dtype", "float32") == "float32" else 8
        for name, r in case["methods"].items():
            if "per_second" in r:
                key = f"{name} ({p.get('dtype', 'float32')})"
                series.setdefault(key, []).append((p["C"], r["per_second"] * p["C"] * itemsize / 1e9))
    if not series or all(len(v) < 2 for v in series.values()):
        return None
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, pts in sorted(series.items()):
        pts.sort()
        style = "--" if name.startswith("memory floor") else "-"
        ax.plot([x for x, _ in pts], [y for _, y in pts], style, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("C (classes)")
    ax.set_ylabel("GB/s of logits read")
    ax.set_title("(N, C) logits: fused argmax + count against C")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the lines, never over them
    fig.tight_layout()
    fig.savefig(out / "logits_vs_c.png", dpi=110)
    plt.close(fig)
    return str(out / "logits_vs_c.png")

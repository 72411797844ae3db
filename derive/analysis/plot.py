"""The analysis plot: the measured norms, the bound and the pure power against T − k, on a log
scale, as a PNG whose bytes depend on the numbers alone (no timestamp, no software tag)."""

from __future__ import annotations

import io

import numpy

from derive.analysis.measure import Numbers


def png(numbers: Numbers, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    axes = figure.add_subplot()
    distances = numpy.arange(1, numbers.steps + 1)
    styles = [(numbers.measured, "-", "C0"), (numbers.bound, "--", "C3"), (numbers.power, ":", "C2")]
    styles += [(cell, "-.", f"C{4 + i}") for i, cell in enumerate(numbers.cells)]
    for series, line, colour in styles:
        if series is None:
            continue
        values = numpy.asarray(series.norms, dtype=float)
        values = numpy.where(numpy.isfinite(values) & (values > 0), values, numpy.nan)  # log scale: no 0
        axes.semilogy(distances, values, line, color=colour, label=series.label)
    axes.set_xlabel("T − k")
    axes.set_ylabel("spectral norm")
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()

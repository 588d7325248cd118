"""The calibration report: ``segments.csv``, ``report.md`` and a plot of the fit."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gtmgym.calibration.response import Response  # noqa: E402
from gtmgym.calibration.segments import SegmentFacts  # noqa: E402
from gtmgym.experiments.store import write_atomic  # noqa: E402


def write_report(
    folder: Path,
    customer_ids: pd.Series,
    facts: SegmentFacts,
    response: Response,
    segments: list[str],
    channels: list[str],
    observed: np.ndarray,
    fitted: np.ndarray,
    bands: dict[str, np.ndarray] | None = None,
) -> None:
    """Write the report files into ``folder``.

    Args:
        observed: (T, S, C) customers won per period and pair, from the data,
            or (T, S) per period and segment (a wide spend table).
        fitted: (T, S, C) the same, replayed through the calibrated model.
        bands: each parameter's 90% interval (low, high) from the bootstrap.
    """

    def shown(name: str, value: float, *index: int) -> str:
        if bands is None:
            return f"{value:.4g}"
        low, high = bands[name][(0, *index)], bands[name][(1, *index)]
        return f"{value:.4g} [{low:.4g}, {high:.4g}]"

    pairs = "period, segment and channel" if observed.ndim == 3 else "period and segment"
    folder.mkdir(parents=True, exist_ok=True)
    names = np.array(segments)[facts.labels]
    labels = pd.DataFrame({"customer_id": customer_ids, "segment": names})
    write_atomic(folder / "segments.csv", labels.to_csv(index=False))
    by_segment = observed if observed.ndim == 2 else observed.sum(axis=2)
    _plot_fit(folder / "fit.png", segments, by_segment, fitted.sum(axis=2))
    lines = [
        "# Calibration report",
        "",
        f"Customers won per {pairs}, replayed through the calibrated "
        f"model with the customers held as observed: R^2 {response.r_squared:.3f}.",
        "",
        "![fitted vs observed customers won per segment and period](fit.png)",
        "",
        "Brackets: 90% bootstrap intervals (moving blocks of periods for the response, "
        "customers for churn and revenue)."
        if bands is not None
        else "No intervals: run `gtmgym calibrate ... --draws K` for 90% bootstrap intervals.",
        "",
        "## Segments",
        "",
        "| segment | customers | churn per period | churn events / periods at risk "
        "| revenue per customer | customers today |",
        "|---|---|---|---|---|---|",
    ]
    for i, name in enumerate(segments):
        lines.append(
            f"| {name} | {int((facts.labels == i).sum())} | {shown('churn', facts.churn[i], i)} | "
            f"{facts.churn_events[i]:.0f} / {facts.exposure[i]:.0f} | "
            f"{shown('revenue', facts.revenue[i], i)} | "
            f"{facts.customers[-1, i].sum():.0f} |"
        )
    lines += [
        "",
        "## Channels",
        "",
        "| channel | decay | half-saturation | slope | "
        + " | ".join(f"effectiveness in {name}" for name in segments)
        + " |",
        "|---|---|---|---|" + "---|" * len(segments),
    ]
    for c, name in enumerate(channels):
        effects = " | ".join(
            shown("effectiveness", e, i, c) for i, e in enumerate(response.effectiveness[:, c])
        )
        lines.append(
            f"| {name} | {shown('decay', response.decay[c], c)} | "
            f"{shown('half_saturation', response.half_saturation[c], c)} | "
            f"{shown('slope', response.slope[c], c)} | {effects} |"
        )
    write_atomic(folder / "report.md", "\n".join(lines) + "\n")


def _plot_fit(path: Path, segments: list[str], observed: np.ndarray, fitted: np.ndarray) -> None:
    figure, axes = plt.subplots(
        len(segments), 1, figsize=(8, 2.2 * len(segments)), sharex=True, squeeze=False
    )
    for i, name in enumerate(segments):
        axis = axes[i, 0]
        axis.plot(observed[:, i], label="observed", color="black", linewidth=1)
        axis.plot(fitted[:, i], label="fitted", color="tab:orange", linewidth=1)
        axis.set_ylabel(f"{name}\nwon")
    axes[0, 0].legend(loc="upper right")
    axes[-1, 0].set_xlabel("period of the history")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)

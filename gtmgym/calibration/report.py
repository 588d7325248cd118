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
) -> None:
    """Write the report files into ``folder``.

    Args:
        observed: (T, S, C) customers won per period and pair, from the data.
        fitted: (T, S, C) the same, replayed through the calibrated model.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = np.array(segments)[facts.labels]
    labels = pd.DataFrame({"customer_id": customer_ids, "segment": names})
    write_atomic(folder / "segments.csv", labels.to_csv(index=False))
    _plot_fit(folder / "fit.png", segments, observed.sum(axis=2), fitted.sum(axis=2))
    lines = [
        "# Calibration report",
        "",
        f"Customers won per period, segment and channel, replayed through the calibrated "
        f"model with the customers held as observed: R^2 {response.r_squared:.3f}.",
        "",
        "![fitted vs observed customers won per segment and period](fit.png)",
        "",
        "## Segments",
        "",
        "| segment | customers | churn per period | churn events / periods at risk "
        "| revenue per customer | customers today |",
        "|---|---|---|---|---|---|",
    ]
    for i, name in enumerate(segments):
        lines.append(
            f"| {name} | {int((facts.labels == i).sum())} | {facts.churn[i]:.4f} | "
            f"{facts.churn_events[i]:.0f} / {facts.exposure[i]:.0f} | {facts.revenue[i]:.4g} | "
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
        effects = " | ".join(f"{e:.4f}" for e in response.effectiveness[:, c])
        lines.append(
            f"| {name} | {response.decay[c]:.3f} | {response.half_saturation[c]:.4g} | "
            f"{response.slope[c]:.3f} | {effects} |"
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

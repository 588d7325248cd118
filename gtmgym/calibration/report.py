"""The calibration report: ``segments.csv``, ``report.md`` and its plots:
``fit.png`` (fitted against observed wins), ``response.png`` (each channel's
response curve with its 90% band) and ``segments.png`` (segment profiles
and churn)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gtmgym.calibration.response import Response  # noqa: E402
from gtmgym.calibration.segments import SegmentFacts  # noqa: E402
from gtmgym.calibration.shocks import Shocks
from gtmgym.experiments.store import write_atomic  # noqa: E402


@dataclass
class ResponseCurves:
    """Share of prospects won per period against spend per period (steady
    state), per segment and channel, for the estimate and each draw."""

    levels: np.ndarray  # (C, L) spend per period
    estimate: np.ndarray  # (S, C, L)
    draws: np.ndarray  # (K, S, C, L); K may be 0
    observed_top: np.ndarray  # (C,) the most spent on one segment in a period
    available: np.ndarray  # (S, C)


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
    curves: ResponseCurves | None = None,
    features: pd.DataFrame | None = None,
    shocks: Shocks | None = None,
) -> None:
    """Write the report files into ``folder``.

    Args:
        observed: (T, S, C) customers won per period and pair, from the data,
            or (T, S) per period and segment (a wide spend table).
        fitted: (T, S, C) the same, replayed through the calibrated model.
        bands: each parameter's 90% interval (low, high): the profile
            likelihood's for half-saturation and effectiveness, the
            bootstrap's for the others.
        curves: the channels' response curves, for ``response.png``.
        features: the clustering features, per customer, for the profiles.
        shocks: the demand shocks read from the fit's residuals.
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
        "Brackets: 90% intervals. Half-saturation and effectiveness: profile likelihood "
        "(every other response parameter refitted); decay and slope: bootstrap over moving "
        "blocks of periods; churn and revenue: bootstrap over customers."
        if bands is not None
        else "No intervals: run `gtmgym calibrate ... --draws K` for 90% bootstrap intervals.",
        "",
        "## Segments",
        "",
        "| segment | customers | churn per period | churn events / periods at risk "
        "| revenue per customer | gross margin | customers today |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, name in enumerate(segments):
        margin = "given" if facts.margin is None else shown("gross_margin", facts.margin[i], i)
        lines.append(
            f"| {name} | {int((facts.labels == i).sum())} | {shown('churn', facts.churn[i], i)} | "
            f"{facts.churn_events[i]:.0f} / {facts.exposure[i]:.0f} | "
            f"{shown('revenue', facts.revenue[i], i)} | {margin} | "
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
    if shocks is not None:
        lines += [
            "",
            "## Demand shocks",
            "",
            "Read from what the fitted response leaves unexplained (docs/calibration.md, "
            "Demand shocks); 0: the residuals vary no more than sampling explains, or too "
            "few periods had wins to read.",
            "",
            "| segment | sigma | persistence | periods read |",
            "|---|---|---|---|",
        ]
        for i, name in enumerate(segments):
            lines.append(
                f"| {name} | {shown('shock_sigma', shocks.sigma[i], i)} | "
                f"{shown('shock_persistence', shocks.persistence[i], i)} | "
                f"{shocks.periods[i]} |"
            )
        lines += [
            "",
            "## Adverse events",
            "",
            "Deep falls in demand lasting a few periods, found in the same residuals "
            "(docs/calibration.md, Adverse events); duration 0: none found.",
            "",
            "| segment | events found | probability a period | demand cut | duration |",
            "|---|---|---|---|---|",
        ]
        for i, name in enumerate(segments):
            cells = [
                shown(f"event_{field}", shocks.event_field(field)[i], i)
                for field in ("probability", "cut", "duration")
            ]
            found = shocks.event_field("starts")[i]
            lines.append(f"| {name} | {found:.0f} | " + " | ".join(cells) + " |")
    if curves is not None:
        _plot_curves(folder / "response.png", segments, channels, curves)
        lines += [
            "",
            "![each channel's response curve, 90% band](response.png)",
            "",
            "Response curves: the share of a segment's prospects a channel wins per period "
            "when it alone spends that much per period (steady state, through the model); "
            "bands: the bootstrap draws' 5% to 95%; dotted: the most the history spent.",
        ]
    if features is not None:
        lines += ["", "## Segment profiles", "", *_profiles(features, facts, segments)]
        _plot_segments(folder / "segments.png", features, facts, segments, bands)
        lines += ["", "![segment profiles and churn](segments.png)"]
    write_atomic(folder / "report.md", "\n".join(lines) + "\n")


def _profiles(features: pd.DataFrame, facts: SegmentFacts, segments: list[str]) -> list[str]:
    """A markdown table: each feature's median per segment."""
    medians = features.groupby(facts.labels).median()
    lines = [
        "| segment | " + " | ".join(f"median {name}" for name in features.columns) + " |",
        "|---|" + "---|" * len(features.columns),
    ]
    for i, name in enumerate(segments):
        values = medians.loc[i] if i in medians.index else pd.Series(np.nan, features.columns)
        lines.append(f"| {name} | " + " | ".join(f"{v:.4g}" for v in values) + " |")
    return lines


def _plot_curves(
    path: Path, segments: list[str], channels: list[str], curves: ResponseCurves
) -> None:
    figure, axes = plt.subplots(1, len(channels), figsize=(4 * len(channels), 3.2),
                                squeeze=False)  # fmt: skip
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c, channel in enumerate(channels):
        axis = axes[0, c]
        for i, segment in enumerate(segments):
            if not curves.available[i, c]:
                continue
            colour = colours[i % len(colours)]
            axis.plot(curves.levels[c], curves.estimate[i, c], color=colour, label=segment)
            if len(curves.draws):
                low, high = np.quantile(curves.draws[:, i, c], (0.05, 0.95), axis=0)
                axis.fill_between(curves.levels[c], low, high, color=colour, alpha=0.2)
        axis.axvline(curves.observed_top[c], color="grey", linestyle=":", linewidth=1)
        axis.set_title(channel)
        axis.set_xlabel("spend per period")
        if curves.available[:, c].any():
            axis.legend(loc="upper left", fontsize="small")
    axes[0, 0].set_ylabel("share of prospects won")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _plot_segments(
    path: Path,
    features: pd.DataFrame,
    facts: SegmentFacts,
    segments: list[str],
    bands: dict[str, np.ndarray] | None,
) -> None:
    standard = (features - features.mean()) / features.std(ddof=0).replace(0.0, 1.0)
    means = standard.groupby(facts.labels).mean().reindex(range(len(segments)))
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    width = 0.8 / len(segments)
    positions = np.arange(len(features.columns))
    for i, name in enumerate(segments):
        left.bar(positions + i * width, means.loc[i], width, label=name)
    left.set_xticks(positions + 0.4 - width / 2, features.columns, rotation=20)
    left.set_ylabel("mean (standardised)")
    left.set_title("segment profiles")
    left.legend(fontsize="small")
    errors = None
    if bands is not None:
        errors = np.abs(bands["churn"] - facts.churn[None, :])
    right.bar(segments, facts.churn, yerr=errors, color="tab:grey", capsize=4)
    right.set_ylabel("churn per period")
    right.set_title("churn" + (" (90% intervals)" if bands is not None else ""))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


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

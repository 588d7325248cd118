"""The figures of a report, as PNG files (matplotlib, no screen needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from gtmgym.experiments.statistics import Profile, bootstrap_interval, mean  # noqa: E402


def learning_curves(curves: pd.DataFrame, summary: pd.DataFrame, path: Path) -> Path:
    """Evaluation return during training, mean over seeds with a 95% band;
    agents that do not learn are drawn as horizontal lines at their mean."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    learners = [] if curves.empty else list(curves["agent"].unique())
    for agent in learners:
        points = curves[curves["agent"] == agent].groupby("step")["return"]
        steps = np.array(sorted(points.groups))
        bands = [bootstrap_interval([points.get_group(s).to_numpy()], mean) for s in steps]
        axes.plot(steps, [b.estimate for b in bands], label=agent)
        axes.fill_between(steps, [b.low for b in bands], [b.high for b in bands], alpha=0.25)
    references = summary[~summary["agent"].isin(learners)]
    for index, row in enumerate(references.itertuples(index=False), start=len(learners)):
        colour = {"planner": "black", "random": "grey"}.get(row.agent, f"C{index % 10}")
        axes.axhline(row.mean_return, linestyle="--", linewidth=1, label=row.agent, color=colour)
    axes.set_xlabel("training steps")
    axes.set_ylabel("evaluation return")
    axes.set_title("Learning curves (mean over seeds, 95% bootstrap band)")
    axes.legend(fontsize=8, loc="best")
    return _save(figure, path)


def final_scores(summary: pd.DataFrame, path: Path) -> Path:
    """IQM return of each agent with its 95% interval, best at the top."""
    ordered = summary.iloc[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.45 * len(ordered) + 1.5))
    positions = np.arange(len(ordered))
    errors = np.vstack(
        [ordered["iqm_return"] - ordered["ci_low"], ordered["ci_high"] - ordered["iqm_return"]]
    )
    axes.errorbar(ordered["iqm_return"], positions, xerr=np.maximum(errors, 0), fmt="o", capsize=4)
    axes.set_yticks(positions, ordered["agent"])
    axes.set_xlabel("IQM return over seeds (95% stratified bootstrap interval)")
    axes.set_title("Final scores")
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def spend_heatmaps(allocations: pd.DataFrame, path: Path) -> Path:
    """Mean spend per period on each segment/channel pair, one panel per agent."""
    agents = list(allocations["agent"].unique())
    figure, axes = plt.subplots(len(agents), 1, figsize=(8, 2.2 * len(agents) + 0.5), squeeze=False)
    pairs = allocations["segment"] + "/" + allocations["channel"]
    table = allocations.assign(pair=pairs)
    order = list(dict.fromkeys(pairs))
    vmax = table.groupby(["agent", "pair", "period"])["spend"].mean().max() or 1.0
    for axis, agent in zip(axes[:, 0], agents, strict=True):
        grid = (
            table[table["agent"] == agent]
            .groupby(["pair", "period"])["spend"]
            .mean()
            .unstack("period")
            .reindex(order)
        )
        image = axis.imshow(grid.to_numpy(), aspect="auto", cmap="viridis", vmin=0, vmax=vmax)
        axis.set_yticks(range(len(order)), order, fontsize=7)
        axis.set_title(f"{agent}: where the money went", fontsize=9)
        axis.set_xlabel("period", fontsize=8)
        figure.colorbar(image, ax=axis, label="spend")
    return _save(figure, path)


def customers_over_time(allocations: pd.DataFrame, path: Path) -> Path:
    """Mean customers per segment at the end of each period, per agent."""
    per_segment = (
        allocations.groupby(["agent", "seed", "episode", "period", "segment"])["segment_customers"]
        .first()
        .groupby(["agent", "segment", "period"])
        .mean()
        .reset_index()
    )
    segments = list(dict.fromkeys(allocations["segment"]))
    figure, axes = plt.subplots(
        1, len(segments), figsize=(4 * len(segments), 3.5), squeeze=False, sharey=False
    )
    for axis, segment in zip(axes[0], segments, strict=True):
        for agent, rows in per_segment[per_segment["segment"] == segment].groupby("agent"):
            axis.plot(rows["period"], rows["segment_customers"], label=agent)
        axis.set_title(segment, fontsize=9)
        axis.set_xlabel("period", fontsize=8)
    axes[0, 0].set_ylabel("customers")
    axes[0, -1].legend(fontsize=7)
    return _save(figure, path)


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def performance_profiles(profiles: dict[str, Profile], path: Path) -> Path:
    """Per agent, the fraction of runs (every scenario of a suite) whose
    normalised score is above tau, with its 95% stratified bootstrap band."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for index, (agent, profile) in enumerate(profiles.items()):
        colour = {"planner": "black", "random": "grey"}.get(agent, f"C{index % 10}")
        axes.plot(profile.thresholds, profile.estimate, label=agent, color=colour)
        axes.fill_between(profile.thresholds, profile.low, profile.high, alpha=0.2, color=colour)
    for reference in (0.0, 1.0):
        axes.axvline(reference, color="grey", linewidth=0.6, linestyle=":")
    axes.set_xlabel("normalised score tau (0 = random, 1 = planner)")
    axes.set_ylabel("fraction of runs with score > tau")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title("Performance profiles across scenarios (95% stratified bootstrap bands)")
    axes.legend(fontsize=8, loc="best")
    axes.grid(alpha=0.3)
    return _save(figure, path)


def aggregate_scores(table: pd.DataFrame, path: Path) -> Path:
    """IQM and mean normalised score of each agent across a suite's scenarios,
    with their 95% stratified bootstrap intervals, best at the top."""
    ordered = table.iloc[::-1]
    positions = np.arange(len(ordered))
    figure, axes = plt.subplots(1, 2, figsize=(9, 0.45 * len(ordered) + 1.5), sharey=True)
    for axis, (estimate, low, high, title) in zip(
        axes,
        [
            ("iqm_normalised", "ci_low", "ci_high", "IQM"),
            ("mean_normalised", "mean_ci_low", "mean_ci_high", "mean"),
        ],
        strict=True,
    ):
        errors = np.vstack([ordered[estimate] - ordered[low], ordered[high] - ordered[estimate]])
        axis.errorbar(ordered[estimate], positions, xerr=np.maximum(errors, 0), fmt="o", capsize=4)
        axis.set_xlabel(f"{title} normalised score (95% CI)")
        axis.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions, ordered["agent"])
    figure.suptitle("Across scenarios (0 = random, 1 = planner)")
    return _save(figure, path)

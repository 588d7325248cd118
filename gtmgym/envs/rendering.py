"""One frame of a market, drawn for people: the ``rgb_array`` render mode.

A frame shows, for the period just played, each segment's customers against
its market size (coloured by whether it sells, is entering or is closed), the
spend per segment x channel, and a title line with the period, the cash (or the
profit so far when cash is not tracked) and what is left of the
episode's budget. It is drawn with matplotlib's Agg canvas, with no pyplot
and no global state, so it works in worker processes and without a display.

:func:`save_video` writes frames as a GIF with Pillow (a dependency of
matplotlib, so always there) or as an MP4 with moviepy (the ``video`` extra,
which Gymnasium's ``RecordVideo`` also needs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from gtmgym.envs.kernel import MarketState
from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import Scenario

WIDTH_PX = 800  # a multiple of 16, what video encoders want
DPI = 100
STATUS_COLOURS = {"selling": "#2a9d8f", "entering": "#e9c46a", "closed": "#bbbbbb"}


def frame_height(n_segments: int) -> int:
    """Pixels of height for ``n_segments`` rows (a multiple of 16)."""
    return 16 * max(25, 8 + 2 * n_segments)


def draw_frame(
    scenario: Scenario, params: MarketParams, state: MarketState, spend: np.ndarray | None
) -> np.ndarray:
    """The (H, W, 3) uint8 picture of market 0 of ``state``.

    Args:
        scenario: names the segments and channels.
        params: the market's parameters (periods, budget, channel availability).
        state: the market after the period (a batch; row 0 is drawn).
        spend: (S, C) spend of the period just played; None before the first.
    """
    height = frame_height(params.n_segments)
    figure = Figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI)
    canvas = FigureCanvasAgg(figure)
    # fixed margins, not tight_layout (which took over a third of a frame's time)
    names = max(len(name) for name in scenario.segment_names)
    margins = {"left": (12 + 6 * names) / WIDTH_PX, "right": 0.98, "wspace": 0.05}
    margins |= {"top": 1 - 56 / height, "bottom": 72 / height}
    market, money = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.0], **margins})
    figure.suptitle(_title(scenario, params, state, spend), fontsize=10)
    _draw_customers(market, scenario, state)
    _draw_spend(money, scenario, params, spend)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def segment_status(state: MarketState) -> list[str]:
    """``selling``, ``entering`` (entry decided, delay not over) or ``closed``, per segment."""
    entered, selling = state.entered[0], state.selling[0]
    return [
        "selling" if sells else "entering" if open_ else "closed"
        for open_, sells in zip(entered, selling, strict=True)
    ]


def _title(
    scenario: Scenario, params: MarketParams, state: MarketState, spend: np.ndarray | None
) -> str:
    budget_left = state.budget_left[0]
    left = "unlimited" if np.isinf(budget_left) else f"{budget_left:,.0f}"
    spent = 0.0 if spend is None else float(np.sum(spend))
    cash = "cash" if params.tracks_cash else "profit so far"
    return (
        f"{scenario.name}: period {int(state.period[0])}/{params.periods}   "
        f"{cash} {state.cash[0]:,.0f}   budget left {left}   spent this period {spent:,.0f}"
    )


def _draw_customers(axes, scenario: Scenario, state: MarketState) -> None:
    """Horizontal bars: customers as a share of market size, labelled with both."""
    customers, population = state.total_customers()[0], state.population[0]
    share = np.divide(customers, population, out=np.zeros_like(customers), where=population > 0)
    status = segment_status(state)
    delays = state.countdown[0]
    rows = np.arange(len(share))
    axes.barh(rows, np.ones_like(share), color="#f1f1f1", edgecolor="#999999")
    axes.barh(rows, share, color=[STATUS_COLOURS[s] for s in status])
    for row, (won, size, what) in enumerate(zip(customers, population, status, strict=True)):
        note = f"entering, {delays[row]} periods left" if what == "entering" else what
        axes.text(0.02, row, f"{won:,.0f} / {size:,.0f}  ({note})", va="center", fontsize=8)
    axes.set_yticks(rows, scenario.segment_names, fontsize=8)
    axes.set_ylim(len(rows) - 0.5, -0.5)  # the heat map's rows: top down
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.set_xlabel("customers, share of market size", fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.set_title("customers / market size", fontsize=9)


def _draw_spend(axes, scenario: Scenario, params: MarketParams, spend: np.ndarray | None) -> None:
    """Segment x channel heat map of this period's spend, on the budget's scale."""
    amounts = np.zeros((params.n_segments, params.n_channels)) if spend is None else spend
    shown = np.where(params.available, amounts, np.nan)
    axes.imshow(shown, cmap="Blues", vmin=0.0, vmax=params.budget_per_period, aspect="auto")
    for (row, column), amount in np.ndenumerate(amounts):
        label = f"{amount:,.1f}" if params.available[row, column] else "n/a"
        dark = amount > 0.6 * params.budget_per_period
        axes.text(
            column,
            row,
            label,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if dark else "black",
        )
    axes.set_xticks(range(params.n_channels), scenario.channel_names, fontsize=8, rotation=20)
    axes.set_yticks([])  # the rows of the customers panel beside it
    axes.set_title(f"spend this period (of {params.budget_per_period:,.0f} a period)", fontsize=9)


VIDEO_SUFFIXES = (".gif", ".mp4")


def save_video(frames: list[np.ndarray], path: str | Path, fps: int) -> Path:
    """Write ``frames`` ((H, W, 3) uint8 each) to ``path``, a ``.gif`` or an ``.mp4``.

    Raises:
        ValueError: no frames, or a suffix other than ``.gif`` and ``.mp4``.
        ImportError: an ``.mp4`` without moviepy (``pip install "gtmgym[video]"``).
    """
    path = Path(path)
    if not frames:
        raise ValueError("no frames to write")
    suffix = path.suffix.lower()
    if suffix == ".gif":
        first, *rest = (Image.fromarray(frame) for frame in frames)
        first.save(path, save_all=True, append_images=rest, duration=round(1000 / fps), loop=0)
    elif suffix == ".mp4":
        try:
            from moviepy import ImageSequenceClip
        except ImportError as error:
            raise ImportError(
                'writing .mp4 needs moviepy: pip install "gtmgym[video]" (or write a .gif)'
            ) from error
        ImageSequenceClip(list(frames), fps=fps).write_videofile(str(path), logger=None)
    else:
        raise ValueError(f"video must end in {' or '.join(VIDEO_SUFFIXES)}, got {path.name!r}")
    return path

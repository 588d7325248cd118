"""Turning the observation into a table index, for tabular agents.

Each feature is cut into equal-width bins over its range ([0, 1]; cash
(-1, 1)); a feature with one bin is ignored. Bins are given per feature, by
full name (``penetration[home]``) or by the name before the bracket
(``penetration``, for every segment), with a default for the rest.

:func:`fitted_feature_bins` chooses bins for a market of any size: a table
that grows as ``6 ** segments`` would not fit in memory (nor be visited) on a
market of a dozen segments, so the bins are coarsened until the table holds
at most :data:`STATE_BUDGET` states.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from gtmgym.envs.kernel.observation import GLOBAL_FEATURES

# States a fitted table may hold. The hand-tuned tables of the bundled
# scenarios have 360 to 37,888 states, and cross-border-ecommerce was tuned
# to drop penetration rather than hold 102,400 states; 100,000 reproduces
# every one of those choices, and keeps a table of 100 actions in float64 to
# 80 MB (a training run of the bundled experiment visits 30,000 states at most).
STATE_BUDGET = 100_000
# Per-segment bins from the finest to the coarsest, tried in turn; time is kept
# exact (one bin per period) while it fits.
SEGMENT_BINS = ({"open": 2, "penetration": 3}, {"open": 2, "penetration": 2}, {"open": 2})


class Discretisation:
    """Observation -> state index.

    Args:
        feature_names: the env's ``feature_names``.
        bins: bins for features not named in ``feature_bins``.
        feature_bins: bins by feature name or name prefix.
    """

    def __init__(
        self,
        feature_names: list[str],
        bins: int = 1,
        feature_bins: Mapping[str, int] | None = None,
    ) -> None:
        feature_bins = dict(feature_bins or {})
        prefixes = {name.split("[")[0] for name in feature_names}
        unknown = sorted(set(feature_bins) - set(feature_names) - prefixes)
        if unknown:
            raise ValueError(
                f"feature_bins names unknown features {unknown}; features are "
                f"{sorted(prefixes)} (or full names like {feature_names[0]!r})"
            )
        counts = []
        for name in feature_names:
            count = feature_bins.get(name, feature_bins.get(name.split("[")[0], bins))
            if int(count) != count or count < 1:
                raise ValueError(f"bins for {name!r} must be a whole number >= 1, got {count}")
            counts.append(int(count))
        self.feature_names = feature_names
        self.counts = np.array(counts)
        self.used = np.flatnonzero(self.counts > 1)
        self.low = np.zeros(len(feature_names))
        cash = (
            feature_names.index(GLOBAL_FEATURES[2]) if GLOBAL_FEATURES[2] in feature_names else -1
        )
        if cash >= 0:
            self.low[cash] = -1.0
        self.n_states = math.prod(int(count) for count in self.counts[self.used])
        # index() runs every step: its constants are worked out here
        counts = self.counts[self.used]
        low = self.low[self.used]
        cells_per_unit = counts / (1.0 - low)
        place = np.append(np.cumprod(counts[::-1])[::-1][1:], 1).astype(np.int64)
        # (feature, low, cells per unit, top cell, place value) per used feature,
        # as Python numbers: a handful of scalar operations per feature beats
        # NumPy's per-call overhead on arrays this short, with the same result
        self._plan = tuple(
            (int(f), float(lo), float(c), int(n) - 1, int(p))
            for f, lo, c, n, p in zip(self.used, low, cells_per_unit, counts, place, strict=True)
        )

    def index(self, observation: np.ndarray) -> int:
        """The state index of one observation (row-major over the used features)."""
        values = observation.tolist()
        state = 0
        for feature, low, cells_per_unit, top_cell, place in self._plan:
            cell = int((values[feature] - low) * cells_per_unit)  # truncates, as astype
            state += place * (0 if cell < 0 else top_cell if cell > top_cell else cell)
        return state


def fitted_feature_bins(
    segments: list[str],
    closed_at_start: list[str],
    periods: int,
    state_budget: int = STATE_BUDGET,
) -> dict[str, int]:
    """Bins for time, whether each market is open and its penetration, as fine
    as a table of ``state_budget`` states allows.

    Time remaining is kept exact (one bin per period, written ``0`` as
    ``QLearningAgent`` reads it); per segment, the first of
    :data:`SEGMENT_BINS` that fits is used for every segment. When not even
    ``open`` fits for every segment, it is kept for the segments closed at
    the start (the only ones whose flag changes), as many as fit in order;
    when time alone does not fit, it gets ``state_budget`` bins.

    Args:
        segments: the scenario's segment names.
        closed_at_start: the names of the segments not open at the start.
        periods: the scenario's horizon.
        state_budget: the most states the table may have (at least 1).
    """
    if state_budget < 1:
        raise ValueError(f"state_budget must be at least 1, got {state_budget}")
    time_bins = periods + 1
    if time_bins > state_budget:
        return {"time_remaining": state_budget}
    for per_segment in SEGMENT_BINS:
        if time_bins * math.prod(per_segment.values()) ** len(segments) <= state_budget:
            return {"time_remaining": 0, **per_segment}
    room = state_budget // time_bins  # 2 ** k <= room open flags fit
    kept = closed_at_start[: room.bit_length() - 1]
    return {"time_remaining": 0} | {f"open[{name}]": 2 for name in kept}

"""The raw figures of a period, as the ``info`` dict the environments return.

Keys (each with a leading environment axis in the vector env): ``available``,
``spend`` (S, C), ``blocked_spend`` (S, C), ``unspent``, ``entered`` (S,),
``won`` (S,), ``won_by_channel`` (S, C), ``churned`` (S,), ``customers``
(S,), ``population`` (S,), ``demand`` (S,), ``revenue`` (S,),
``gross_margin`` (S,), ``partner_payout`` (S,), ``entry_costs`` (S,),
``operating_costs`` (S,), ``profit``, ``market_share``, ``bankrupt``.

Units: money (``available``, ``spend``, ``blocked_spend``, ``unspent``,
``revenue``, ``gross_margin``, ``partner_payout``, ``entry_costs``,
``operating_costs``, ``profit``) in the scenario's currency; ``won``,
``won_by_channel``, ``churned``, ``customers`` and ``population`` in
customers; ``demand`` a multiplier of the reachable population;
``market_share`` a fraction of the total population; ``entered`` (entry paid
this period) and ``bankrupt`` flags. Before each decision (after ``reset``
and every step) the environments add ``period`` (periods played), ``open``
and ``selling`` (S,) flags and, in the discrete mode, ``action_mask`` (K,).
The raw state is not in ``info``: it is ``env.unwrapped.state``.
"""

from __future__ import annotations

import operator
from functools import lru_cache
from typing import Any

import numpy as np

from gtmgym.envs.kernel.layouts import PeriodFigures

# info key -> figures field
ARRAY_KEYS = {
    "spend": "spend",
    "blocked_spend": "blocked",
    "won": "segment_won",
    "won_by_channel": "won",
    "churned": "churned",
    "customers": "customers",
    "population": "population",
    "demand": "demand",
    "revenue": "revenue",
    "gross_margin": "gross_margin",
    "partner_payout": "partner_payout",
    "entry_costs": "entry_costs",
    "operating_costs": "operating_costs",
}
SCALAR_KEYS = {
    "available": "available",
    "unspent": "unspent",
    "profit": "profit",
    "market_share": "market_share",
}


def period_figures(figures: PeriodFigures) -> dict[str, np.ndarray]:
    """Batched figures, each with a leading environment axis."""
    info = {key: getattr(figures, field) for key, field in SCALAR_KEYS.items()}
    info.update({key: getattr(figures, field) for key, field in ARRAY_KEYS.items()})
    info["entered"] = figures.entered_now
    info["bankrupt"] = figures.bankrupt
    return info


def period_info(figures: PeriodFigures, env: int) -> dict[str, Any]:
    """The figures of environment ``env`` (scalars as Python floats).

    This runs every step of the scalar environment, so it cuts one row of the
    figures with a plan worked out once per layout.
    """
    row = figures.data[env]
    plan = _row_plan(*figures.layout.shapes["spend"])
    info: dict[str, Any] = {key: row.item(column) for key, column in plan.scalars}
    info.update(zip(plan.array_keys, plan.cut(row), strict=True))
    for key, shape in plan.matrices:
        info[key] = info[key].reshape(shape)
    info["entered"] = info["entered"].astype(bool)  # 0.0 / 1.0; a ufunc costs more
    info["bankrupt"] = row.item(plan.bankrupt) != 0.0
    return info


class _RowPlan:
    def __init__(self, n_segments: int, n_channels: int) -> None:
        where = PeriodFigures.layout_for(n_segments, n_channels)

        def columns(field: str) -> slice:
            start = where.starts[field]
            return slice(start, start + int(np.prod(where.shapes[field], dtype=np.int64)))

        arrays = {**ARRAY_KEYS, "entered": "entered_now"}
        self.scalars = tuple((key, where.starts[field]) for key, field in SCALAR_KEYS.items())
        self.array_keys = tuple(arrays)
        self.cut = operator.itemgetter(*(columns(field) for field in arrays.values()))
        self.matrices = tuple(
            (key, where.shapes[field])
            for key, field in arrays.items()
            if len(where.shapes[field]) == 2
        )
        self.bankrupt = where.starts["bankrupt"]


@lru_cache(maxsize=64)
def _row_plan(n_segments: int, n_channels: int) -> _RowPlan:
    return _RowPlan(n_segments, n_channels)

"""From a decision (spend shares, entries) to an action in any action mode.

Model-based agents (heuristics, the planner) decide in the model's own terms:
``shares`` (S, C), the share of the available money for each segment and
channel, and ``enter`` (S,). :func:`encode` writes that decision as an action
of the agent's mode: exactly in the continuous mode, as the nearest catalogue
entry in the discrete mode, and as the nearest levels in the multidiscrete one.
"""

from __future__ import annotations

import numpy as np

from gtmgym.envs.actions import ActionCodec, ContinuousActions, DiscreteActions


def encode(
    codec: ActionCodec,
    shares: np.ndarray,
    enter: np.ndarray,
    selling: np.ndarray,
    dtype: type = np.float32,
) -> np.ndarray | int:
    """The action of ``codec``'s mode closest to the decision.

    Args:
        codec: the action codec of the agent's mode.
        shares: (S, C) shares of the available money, summing to at most 1.
        enter: (S,) bool, segments to enter now.
        selling: (S,) bool, segments selling at the start of the period (the
            discrete catalogue spreads its entries over these).
        dtype: the continuous action's type: float32 as the space declares, or
            float64 for a decision that must survive to the last bit (the
            planner's, where a pair may sit exactly at its ``min_spend``).
    """
    if isinstance(codec, ContinuousActions):
        weights = np.append(shares.ravel(), max(0.0, 1.0 - shares.sum()))
        weights = weights / weights.max()
        switches = np.where(enter, 1.0, -1.0)
        return np.concatenate([2.0 * weights - 1.0, switches]).astype(dtype)
    if isinstance(codec, DiscreteActions):
        return _nearest_catalogue_entry(codec, shares, enter, selling)
    return _nearest_levels(codec, shares, enter)


def _nearest_catalogue_entry(
    codec: DiscreteActions, shares: np.ndarray, enter: np.ndarray, selling: np.ndarray
) -> int:
    candidates = np.arange(codec.space.n)
    decoded, entries = codec.decode(
        candidates, np.broadcast_to(selling, (len(candidates),) + selling.shape)
    )
    distance = np.abs(decoded - shares).sum(axis=(1, 2))
    # entering is the decision that matters most: never trade it for spend
    distance = distance + 10.0 * (entries != enter).sum(axis=1)
    return int(np.argmin(distance))


def _nearest_levels(codec: ActionCodec, shares: np.ndarray, enter: np.ndarray) -> np.ndarray:
    levels = int(codec.space.nvec[0] - 1)
    wanted = shares.ravel()
    # Levels asking for more than all the money are scaled down in proportion, so a
    # full spend is written with its largest pair at the top level; rounding the
    # shares themselves would lose money (three pairs at 1/3 of 4 levels: 1 each, 3/4).
    candidates = [np.rint(wanted * levels)]
    if wanted.max() > 0:
        candidates.append(np.rint(wanted / wanted.max() * levels))
    asked = np.stack(candidates).astype(np.int64)
    flags = np.zeros((len(asked), enter.size), dtype=np.int64)
    decoded, _ = codec.decode(np.concatenate([asked, flags], axis=1), enter[None, :])
    best = int(np.argmin(np.abs(decoded - shares).sum(axis=(1, 2))))
    return np.concatenate([asked[best], enter.astype(np.int64)])

"""The three ways an agent can write its decision, and how each is read.

Every action mode decodes a batch of actions into the same decision the
dynamics take: ``shares`` (N, S, C), the share of the period's available money
aimed at each segment and channel (summing to at most 1; the rest is held
back), and ``enter`` (N, S), the decision to enter each segment. The transforms
are documented in ``docs/model.md`` (Actions). Actions outside the space, or
containing NaN, are refused with :class:`InvalidActionError`, never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from gtmgym.envs.params import MarketParams
from gtmgym.envs.scenario import ActionMode, Scenario


class InvalidActionError(ValueError):
    """An action that is not in the environment's action space."""


class _ActionCodec:
    """What every action mode shares: one action decided as a batch of one."""

    def check(self, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def decode(self, actions: np.ndarray, selling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def decide_one(self, action: Any, selling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`check` and :meth:`decode` of one action, as a batch of one."""
        shares, enter = self.decode(self.check(np.asarray(action)[None]), selling[None])
        return np.ascontiguousarray(shares), enter


class ContinuousActions(_ActionCodec):
    """Box in [-1, 1]: one weight per (segment, channel), a hold-back weight,
    then one entry switch per segment.

    Weights map to ``u = (x + 1) / 2`` and shares to ``u / sum(u)`` over the
    ``S * C + 1`` weights (all zero: everything held back); segment ``i`` is
    entered when its switch is above 0.
    """

    mode = "continuous"

    def __init__(self, params: MarketParams) -> None:
        self._shape = (params.n_segments, params.n_channels)
        self._n_weights = params.n_segments * params.n_channels + 1
        self.space = spaces.Box(
            -1.0, 1.0, shape=(self._n_weights + params.n_segments,), dtype=np.float32
        )

    def check(self, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions, dtype=np.float64)
        if actions.shape[1:] != self.space.shape:
            raise InvalidActionError(
                f"continuous action must have shape {self.space.shape}, got {actions.shape[1:]}"
            )
        if not np.isfinite(actions).all() or (np.abs(actions) > 1.0).any():
            raise InvalidActionError(
                f"continuous action must be finite and within [-1, 1], got {actions.tolist()}"
            )
        return actions

    def decode(self, actions: np.ndarray, selling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weights = (actions[:, : self._n_weights] + 1.0) / 2.0
        total = weights.sum(axis=1, keepdims=True)
        weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
        shares = weights[:, :-1].reshape((-1, *self._shape))
        return shares, actions[:, self._n_weights :] > 0.0

    def describe(self) -> list[str]:
        return [
            f"Box(-1, 1, shape={self.space.shape}): S*C={self._n_weights - 1} "
            "spend weights, 1 hold-back weight, then one entry switch per segment"
        ]


class MultiDiscreteActions(_ActionCodec):
    """A spend level per (segment, channel), then an entry flag per segment.

    Level ``l`` of ``L`` asks for ``l / L`` of the available money; when the
    levels ask for more than all of it, every pair is scaled down in proportion.
    """

    mode = "multidiscrete"

    def __init__(self, params: MarketParams, levels: int) -> None:
        self._shape = (params.n_segments, params.n_channels)
        self._levels = levels
        self._n_pairs = params.n_segments * params.n_channels
        self._nvec = np.array([levels + 1] * self._n_pairs + [2] * params.n_segments)
        self.space = spaces.MultiDiscrete(self._nvec)

    def check(self, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.shape[1:] != self.space.shape or not _is_integral(actions):
            raise InvalidActionError(
                f"multidiscrete action must be {self.space.shape[0]} integers, "
                f"got {actions.tolist()}"
            )
        if (actions < 0).any() or (actions >= self._nvec).any():
            raise InvalidActionError(
                f"multidiscrete action outside {self.space}: got {actions.tolist()}"
            )
        return actions.astype(np.int64)

    def decode(self, actions: np.ndarray, selling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        asked = actions[:, : self._n_pairs] / self._levels
        scale = np.maximum(asked.sum(axis=1, keepdims=True), 1.0)
        shares = (asked / scale).reshape((-1, *self._shape))
        return shares, actions[:, self._n_pairs :] == 1

    def describe(self) -> list[str]:
        return [
            f"MultiDiscrete({self._nvec.tolist()}): a level 0..{self._levels} per "
            f"segment x channel (level/{self._levels} of the money available), "
            "then 0/1 per segment to enter it"
        ]


@dataclass(frozen=True)
class CatalogueEntry:
    """One allocation of the discrete catalogue."""

    label: str
    weights: np.ndarray  # (S, C) spread of the spend, over selling pairs
    level: float  # share of the available money spent
    enter: np.ndarray  # (S,) bool
    needs_selling: np.ndarray  # (S,) bool: meaningful only if these sell


class DiscreteActions(_ActionCodec):
    """A printable catalogue of allocations, for DQN and tabular agents.

    Entries: hold back; for each spend level, an even split over the selling
    segment x channel pairs, a split by value over them (weights
    ``MarketParams.value_weight``), a focus on each segment (even over its
    channels) and on each available pair; then, for each segment closed at start, enter
    it (spending the top level evenly over what sells). The weights of an
    entry are spread over the pairs that sell this period, so an even split
    never aims money at a market that cannot use it.
    """

    mode = "discrete"

    def __init__(self, params: MarketParams, scenario: Scenario, spend_levels: list[float]):
        self._available = params.available
        self.entries = _catalogue(params, scenario, sorted(set(spend_levels)))
        self.space = spaces.Discrete(len(self.entries))
        self._weights = np.stack([e.weights for e in self.entries])
        self._levels = np.array([e.level for e in self.entries])
        self._enter = np.stack([e.enter for e in self.entries])
        self._needs_selling = np.stack([e.needs_selling for e in self.entries])
        self._decisions: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = {}
        # a batch holds few distinct patterns (which segments are open, which
        # sell): the catalogue is worked out once per pattern, then gathered
        self._spreads = _PatternTable(self._spread_patterns)
        self._pattern_masks = _PatternTable(self._mask_patterns)

    def check(self, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.ndim != 1 or not _is_integral(actions):
            raise InvalidActionError(
                f"discrete action must be one integer in [0, {self.space.n}), "
                f"got {actions.tolist()}"
            )
        if (actions < 0).any() or (actions >= self.space.n).any():
            raise InvalidActionError(
                f"discrete action must be in [0, {self.space.n}), got {actions.tolist()}"
            )
        return actions.astype(np.int64)

    def decode(self, actions: np.ndarray, selling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spreads, rows = self._spreads(selling)
        return spreads[rows, actions], self._enter[actions]

    def _spread_patterns(self, selling: np.ndarray) -> np.ndarray:
        """(P, K, S, C) shares of every entry for each of P selling patterns:
        its weights over the pairs that sell, scaled to its level."""
        actions = np.tile(np.arange(len(self.entries)), len(selling))
        weights = self._weights[actions] * np.repeat(selling, len(self.entries), axis=0)[..., None]
        total = weights.sum(axis=(1, 2), keepdims=True)
        shares = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
        shares *= self._levels[actions, None, None]
        return shares.reshape(len(selling), len(self.entries), *shares.shape[1:])

    def decide_one(self, action: Any, selling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`check` and :meth:`decode` of one action, for selling pattern (S,).

        The scalar environment calls this every step; the decisions of a
        catalogue are few, so they are worked out once and remembered
        (read-only arrays, shaped as a batch of one).
        """
        if not isinstance(action, (int, np.integer)) or isinstance(action, bool):
            action = int(self.check(np.asarray(action)[None])[0])
        elif not 0 <= action < self.space.n:
            self.check(np.asarray([action]))  # raises with the message
        memo_key = (int(action), selling.tobytes())
        decision = self._decisions.get(memo_key)
        if decision is None:
            shares, enter = self.decode(np.array([action]), selling[None])
            decision = (_frozen(np.ascontiguousarray(shares)), _frozen(enter.copy()))
            if len(self._decisions) > _MEMO_LIMIT:
                self._decisions.clear()
            self._decisions[memo_key] = decision
        return decision

    def mask_one(self, entered: np.ndarray, selling: np.ndarray) -> np.ndarray:
        """The (K,) mask of one environment (the scalar env remembers it per pattern)."""
        return self.mask(entered[None], selling[None])[0]

    def mask(self, entered: np.ndarray, selling: np.ndarray) -> np.ndarray:
        """(N, K) int8: 1 where the entry would do what its label says."""
        masks, rows = self._pattern_masks(np.concatenate([entered, selling], axis=1))
        return masks[rows]

    def _mask_patterns(self, patterns: np.ndarray) -> np.ndarray:
        segments = patterns.shape[1] // 2
        return self._masks_of(patterns[:, :segments], patterns[:, segments:])

    def _masks_of(self, entered: np.ndarray, selling: np.ndarray) -> np.ndarray:
        can_enter = ~(self._enter[None] & entered[:, None, :]).any(-1)
        sells = ((self._needs_selling[None] & ~selling[:, None, :]).sum(-1) == 0) & (
            (self._weights[None] * selling[:, None, :, None]).sum((-1, -2)) > 0
        )
        sells |= self._levels[None] == 0
        return (can_enter & sells).astype(np.int8)

    def describe(self) -> list[str]:
        return [f"{index:3d}  {entry.label}" for index, entry in enumerate(self.entries)]


def _catalogue(
    params: MarketParams, scenario: Scenario, levels: list[float]
) -> list[CatalogueEntry]:
    s, c = params.n_segments, params.n_channels
    nothing = np.zeros(s, dtype=bool)
    available = params.available.astype(float)

    def entry(label, weights, level=1.0, enter=nothing, needs=nothing) -> CatalogueEntry:
        return CatalogueEntry(label, weights, level, enter, needs)

    entries = [entry("hold back: spend nothing", np.zeros((s, c)), level=0.0)]
    for level in levels:
        pct = f"{level:.0%}"
        entries.append(
            entry(f"spend {pct}, even over selling segments x channels", available, level)
        )
        if (params.value_weight > 0).any():
            entries.append(
                entry(
                    f"spend {pct} by value over selling segments x channels",
                    params.value_weight,
                    level,
                )
            )
        for i, segment in enumerate(scenario.segments):
            if not params.available[i].any():
                continue
            only = np.zeros((s, c))
            only[i] = available[i]
            entries.append(
                entry(
                    f"spend {pct} on {segment.name}, even over its channels",
                    only,
                    level,
                    needs=np.eye(s, dtype=bool)[i],
                )
            )
        for i, segment in enumerate(scenario.segments):
            for j, channel in enumerate(scenario.channels):
                if not params.available[i, j]:
                    continue
                pair = np.zeros((s, c))
                pair[i, j] = 1.0
                entries.append(
                    entry(
                        f"spend {pct} on {segment.name} via {channel.name}",
                        pair,
                        level,
                        needs=np.eye(s, dtype=bool)[i],
                    )
                )
    top = levels[-1]
    for i, segment in enumerate(scenario.segments):
        if segment.open_at_start:
            continue
        entries.append(
            entry(
                f"enter {segment.name}; spend {top:.0%} even over selling pairs",
                available,
                top,
                enter=np.eye(s, dtype=bool)[i],
            )
        )
    return entries


_MEMO_LIMIT = 4096
_TABLE_BYTES = 32 * 2**20  # a pattern table's memory, at most (64 patterns at least)


class _PatternTable:
    """``compute`` of boolean patterns, worked out once per distinct pattern.

    Called with (N, B) bool rows, returns ``(table, rows)``: ``table[rows[n]]``
    is ``compute`` of row ``n``. Patterns of up to 62 bits are remembered
    (up to ``_MEMO_LIMIT`` of them, and ``_TABLE_BYTES`` in all); wider ones
    are worked out per call.
    """

    def __init__(self, compute: Any) -> None:
        self._compute = compute
        self._known: dict[int, np.ndarray] = {}
        self._limit = _MEMO_LIMIT

    def __call__(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if bits.shape[1] > 62:
            patterns, rows = np.unique(bits, axis=0, return_inverse=True)
            return self._compute(patterns), rows.ravel()
        codes = bits.astype(np.int64) @ (np.int64(1) << np.arange(bits.shape[1]))
        unique, first, rows = np.unique(codes, return_index=True, return_inverse=True)
        unique = unique.tolist()
        missing = [k for k, code in enumerate(unique) if code not in self._known]
        if missing:
            if len(self._known) + len(missing) > self._limit:
                self._known.clear()
                missing = list(range(len(unique)))
            computed = self._compute(bits[first[missing]])
            self._limit = min(_MEMO_LIMIT, max(64, _TABLE_BYTES // max(computed[0].nbytes, 1)))
            for k, row in zip(missing, computed, strict=True):
                self._known[unique[k]] = _frozen(row)
        return np.stack([self._known[code] for code in unique]), rows.ravel()


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _is_integral(actions: np.ndarray) -> bool:
    return actions.dtype.kind in "iu" or (
        actions.dtype.kind == "f"
        and np.isfinite(actions).all()
        and (actions == np.round(actions)).all()
    )


ActionCodec = ContinuousActions | DiscreteActions | MultiDiscreteActions


def make_codec(params: MarketParams, scenario: Scenario, mode: ActionMode) -> ActionCodec:
    """The action codec for ``mode``, configured from the scenario."""
    if mode == "continuous":
        return ContinuousActions(params)
    if mode == "multidiscrete":
        return MultiDiscreteActions(params, scenario.actions.multidiscrete_levels)
    if mode == "discrete":
        return DiscreteActions(params, scenario, scenario.actions.spend_levels)
    raise ValueError(
        f"action_mode must be 'continuous', 'discrete' or 'multidiscrete', got {mode!r}"
    )

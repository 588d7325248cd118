"""A scenario whose parameters are uncertain: a distribution over markets.

Any numeric parameter of a scenario may be written as a distribution instead
of a number (docs/uncertainty.md)::

    churn: {uniform: [0.02, 0.04]}
    population: {normal: {mean: 30000, sd: 3000}}            # truncated
    revenue_per_customer: {lognormal: {median: 0.05, sigma: 0.1}}
    slope: {choice: [1.0, 1.5, 2.0]}

and a file may list complete parameter draws (the scenarios
``gtmgym calibrate --draws K`` writes), of which each episode plays one::

    draws: [fitted-draws/draw-01.yaml, fitted-draws/draw-02.yaml]

A normal or lognormal is truncated to the field's allowed range
(docs/model.md, Allowed ranges), or to its own ``low`` and ``high`` when
given. Integer fields (``periods``, ``entry_delay``, an adverse event's
``duration``), the shape (segments, channels) and the discrete catalogue's
settings (``actions``) do not vary.

:class:`ScenarioDistribution` holds the certainty-equivalent scenario
(:meth:`~ScenarioDistribution.mean`, every parameter at its distribution's
mean) and the uncertain fields; :meth:`~ScenarioDistribution.sample` draws a
validated :class:`~gtmgym.envs.scenario.Scenario`. The environments draw
through :meth:`~ScenarioDistribution.values` into the kernel's parameter
rows directly (a validated scenario per draw would cost about 1.5 ms). That
is safe because every draw is a valid scenario: loading checks each support's
ends against the field's range, and the corners of the fields that are
checked together (population with initial customers and with growth, a
channel's min with its max spend).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import annotated_types
import numpy as np
from numba import njit
from pydantic.fields import FieldInfo
from scipy import special

from gtmgym.envs.kernel import Params
from gtmgym.envs.loader import (
    ScenarioError,
    merged,
    scenario_source,
    validate_scenario,
)
from gtmgym.envs.params import KERNEL_FIELDS, MarketParams, field_key, kernel_column, kernel_rows
from gtmgym.envs.scenario import DISTRIBUTION_KINDS, Scenario, Within

Path_ = tuple[str | int, ...]  # a field's path, e.g. ("segments", 0, "churn")
SETTINGS = ("draws", "observe_parameters")  # top-level keys of a distribution only
# fields whose values are checked together: every corner of both supports is tried
COUPLED = (
    (("segments", "population"), ("segments", "initial_customers")),
    (("segments", "population"), ("segments", "growth")),
    (("channels", "min_spend"), ("channels", "max_spend")),
)
FIXED_FIELDS = {
    ("periods",): "an integer (the horizon)",
    ("segments", "entry_delay"): "an integer (periods of delay)",
    ("segments", "adverse_event", "duration"): "an integer (periods)",
}


def path_text(path: Path_) -> str:
    """``("segments", 0, "churn")`` as ``segments[0].churn``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True)
class FieldRange:
    """The values a numeric field allows (its pydantic constraints)."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def inner(self) -> tuple[float, float]:
        """The smallest and largest values allowed (an open end moved inwards)."""
        low = np.nextafter(self.low, math.inf) if self.low_open else self.low
        high = np.nextafter(self.high, -math.inf) if self.high_open else self.high
        return float(low), float(high)

    @property
    def text(self) -> str:
        return (
            f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
            f"{')' if self.high_open else ']'}"
        )


def field_range(path: Path_) -> FieldRange:
    """The allowed range of the numeric field at ``path``, read from the schema."""
    model: Any = Scenario
    constraints: list[Any] = []
    for part in path:
        if isinstance(part, int):
            continue
        info: FieldInfo = model.model_fields[part]
        constraints = []
        model = _narrowed(info.annotation, info.metadata, constraints)
    found = FieldRange()
    for constraint in constraints:
        found = _tightened(found, constraint)
    return found


def _narrowed(annotation: Any, metadata: list[Any], constraints: list[Any]) -> Any:
    """The model or number type under ``annotation`` (lists and optionals
    unwrapped), collecting its constraints into ``constraints``."""
    constraints.extend(metadata)
    while True:
        origin = get_origin(annotation)
        if origin is Union or origin is type(int | None):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        elif origin is list:
            annotation = get_args(annotation)[0]
        elif hasattr(annotation, "__metadata__"):
            for extra in annotation.__metadata__:
                constraints.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
            annotation = get_args(annotation)[0]
        else:
            return annotation


def _tightened(found: FieldRange, constraint: Any) -> FieldRange:
    low, high, low_open, high_open = found.low, found.high, found.low_open, found.high_open
    validator = getattr(constraint, "func", None)
    bounds: list[tuple[str, float, bool]] = []
    if isinstance(constraint, annotated_types.Ge):
        bounds.append(("low", constraint.ge, False))
    elif isinstance(constraint, annotated_types.Gt):
        bounds.append(("low", constraint.gt, True))
    elif isinstance(constraint, annotated_types.Le):
        bounds.append(("high", constraint.le, False))
    elif isinstance(constraint, annotated_types.Lt):
        bounds.append(("high", constraint.lt, True))
    elif isinstance(validator, Within):
        bounds += [("low", validator.low, validator.low_open), ("high", validator.high, False)]
    for side, value, is_open in bounds:
        if side == "low" and (value > low or (value == low and is_open)):
            low, low_open = value, is_open
        elif side == "high" and (value < high or (value == high and is_open)):
            high, high_open = value, is_open
    return FieldRange(low, high, low_open, high_open)


class _Spec:
    """One field's distribution: values from uniforms in [0, 1).

    :meth:`values` and :meth:`position` also work on a spec whose numbers are
    arrays, one entry per field: :class:`ScenarioDistribution` draws every
    field of a kind in one call that way.
    """

    kind: str

    def values(self, uniforms: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def mean(self) -> float:
        raise NotImplementedError

    def position(self, values: np.ndarray) -> np.ndarray:
        """Where ``values`` lie in the distribution, in [0, 1] (its CDF; 0.5 for a point)."""
        raise NotImplementedError

    def contains(self, value: float) -> bool:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def ends(self) -> tuple[float, float]:
        """The least and greatest values it can draw."""
        raise NotImplementedError


@dataclass(frozen=True)
class Uniform(_Spec):
    low: float
    high: float
    kind = "uniform"

    def values(self, uniforms: np.ndarray) -> np.ndarray:
        return self.low + uniforms * (self.high - self.low)

    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    def position(self, values: np.ndarray) -> np.ndarray:
        return _between(values, self.low, self.high)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def ends(self) -> tuple[float, float]:
        return self.low, self.high

    def text(self) -> str:
        return f"uniform [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class TruncatedNormal(_Spec):
    """A normal (``log_scale``: a lognormal, on the log of the value) truncated to [low, high]."""

    centre: float  # the mean (log of the median when log_scale)
    sd: float
    low: float
    high: float
    point: float  # the mean or median as written: what an sd of 0 draws, exactly
    log_scale: bool = False

    @property
    def kind(self) -> str:  # type: ignore[override]
        return "lognormal" if self.log_scale else "normal"

    def _scaled(self, value: float | np.ndarray) -> Any:
        return np.log(value) if self.log_scale else value

    def _mass(self) -> tuple[float, float]:
        """The normal's probability below ``low`` and below ``high``."""
        return self._masses

    @cached_property
    def _masses(self) -> tuple[float, float]:
        lo, hi = self._scaled(self.low), self._scaled(self.high)
        with np.errstate(divide="ignore", invalid="ignore"):  # sd 0
            return special.ndtr((lo - self.centre) / self.sd), special.ndtr(
                (hi - self.centre) / self.sd
            )

    def values(self, uniforms: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # sd 0: the point, below
            below, up_to = self._mass()
            scaled = self.centre + self.sd * special.ndtri(below + uniforms * (up_to - below))
            drawn = np.clip(self._unscaled(scaled), self.low, self.high)  # float rounding only
        return np.where(self.sd == 0.0, self.point, drawn)

    def _unscaled(self, value: Any) -> Any:
        return np.exp(value) if self.log_scale else value

    def mean(self) -> float:
        if self.sd == 0.0:
            return self.point
        below, up_to = self._mass()
        lo, hi = self._scaled(self.low), self._scaled(self.high)
        alpha, beta = (lo - self.centre) / self.sd, (hi - self.centre) / self.sd
        if self.log_scale:  # E[exp(X)] of a truncated normal X
            inside = special.ndtr(beta - self.sd) - special.ndtr(alpha - self.sd)
            value = math.exp(self.centre + self.sd**2 / 2.0) * inside / (up_to - below)
        else:
            density = _density(alpha) - _density(beta)
            value = self.centre + self.sd * density / (up_to - below)
        return float(min(max(value, self.low), self.high))

    def position(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # sd 0: 0.5, below
            below, up_to = self._mass()
            cdf = special.ndtr((self._scaled(np.asarray(values)) - self.centre) / self.sd)
            inside = np.clip((cdf - below) / (up_to - below), 0.0, 1.0)
        return np.where(self.sd == 0.0, 0.5, inside)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def ends(self) -> tuple[float, float]:
        if self.sd == 0.0:
            return self.point, self.point
        return self.low, self.high

    def text(self) -> str:
        if self.log_scale:
            head = f"lognormal median {math.exp(self.centre):g} sigma {self.sd:g}"
        else:
            head = f"normal mean {self.centre:g} sd {self.sd:g}"
        return f"{head} in {_interval(self.low, self.high)}"


def _interval(low: float, high: float) -> str:
    """``[low, high]``, or ``(0, high]`` when ``low`` is the least float above an open 0."""
    if 0.0 < low <= _ABOVE_ZERO:
        return f"(0, {high:g}]"
    return f"[{low:g}, {high:g}]"


_ABOVE_ZERO = float(np.nextafter(0.0, 1.0))


def _between(values: np.ndarray, low: Any, high: Any) -> np.ndarray:
    """``values`` scaled from [low, high] to [0, 1]; 0.5 where low == high."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(high == low, 0.5, (np.asarray(values) - low) / (high - low))


def _density(z: float) -> float:
    return math.exp(-z * z / 2.0) / math.sqrt(2.0 * math.pi) if math.isfinite(z) else 0.0


@dataclass(frozen=True)
class Choice(_Spec):
    options: tuple[float, ...]
    kind = "choice"

    def values(self, uniforms: np.ndarray) -> np.ndarray:
        index = np.minimum((uniforms * len(self.options)).astype(np.int64), len(self.options) - 1)
        return np.asarray(self.options)[index]

    def mean(self) -> float:
        return float(np.mean(self.options))

    def position(self, values: np.ndarray) -> np.ndarray:
        ranked = np.unique(self.options)
        if len(ranked) == 1:
            return np.full(np.shape(values), 0.5)
        return np.searchsorted(ranked, values) / (len(ranked) - 1)

    def contains(self, value: float) -> bool:
        return value in self.options

    def ends(self) -> tuple[float, float]:
        return min(self.options), max(self.options)

    def text(self) -> str:
        return "choice of " + ", ".join(f"{option:g}" for option in self.options)


@dataclass(frozen=True)
class FromDraws(_Spec):
    """A field's value in each of the file's complete draws (one is played)."""

    per_draw: tuple[float, ...]  # stacked: a (draws, fields) array
    kind = "draws"

    def values(self, uniforms: np.ndarray) -> np.ndarray:
        table = np.asarray(self.per_draw)
        draw = np.minimum((uniforms * len(table)).astype(np.int64), len(table) - 1)
        return np.take_along_axis(table, draw, axis=0)

    def mean(self) -> float:
        return float(np.mean(self.per_draw))

    def position(self, values: np.ndarray) -> np.ndarray:
        table = np.asarray(self.per_draw)
        return _between(values, table.min(axis=0), table.max(axis=0))

    def contains(self, value: float) -> bool:
        low, high = self.ends()
        return low <= value <= high

    def ends(self) -> tuple[float, float]:
        return min(self.per_draw), max(self.per_draw)

    def text(self) -> str:
        low, high = self.ends()
        return f"from {len(self.per_draw)} draws, [{low:g}, {high:g}]"


@dataclass(frozen=True, eq=False)
class ScenarioDistribution:
    """A scenario with uncertain parameters (docs/uncertainty.md).

    Attributes:
        point: the certainty-equivalent scenario, every uncertain parameter
            at its distribution's mean (:meth:`mean`).
        fields: the uncertain fields by path (``segments[0].churn``), in the
            order of :meth:`values`' columns: the distributions first, then
            the fields that differ among the draws.
        observe_parameters: the environments append the drawn parameters,
            each as its position in its distribution, to the observation.
        origin: where it was read from, for messages.
        source: the fields as written (overrides merged, the paths of
            ``draws`` made absolute), which load it again from anywhere;
            ``None`` when it was made from a :class:`Scenario`.
    """

    point: Scenario
    fields: dict[str, _Spec]
    paths: tuple[Path_, ...]
    observe_parameters: bool = False
    draw_count: int = 0
    origin: str = ""
    source: dict[str, Any] | None = None

    @property
    def uncertain(self) -> bool:
        """Whether any parameter varies (a fixed scenario is a distribution too)."""
        return bool(self.fields)

    @cached_property
    def names(self) -> list[str]:
        return list(self.fields)

    @cached_property
    def uniforms_needed(self) -> int:
        """Uniform numbers one draw takes: one per distribution, one for the draw."""
        return sum(spec.kind != "draws" for spec in self.fields.values()) + (self.draw_count > 0)

    def mean(self) -> Scenario:
        """The certainty-equivalent scenario: every uncertain parameter at its mean."""
        return self.point

    def values(self, uniforms: np.ndarray) -> np.ndarray:
        """(M, F) parameter values from (M, :attr:`uniforms_needed`) uniforms in [0, 1)."""
        uniforms = np.atleast_2d(uniforms)
        values = np.empty((len(uniforms), len(self.fields)))
        for columns, slots, spec in self._kinds:
            values[:, columns] = spec.values(uniforms[:, slots])
        return values

    @cached_property
    def _kinds(self) -> list[tuple[np.ndarray, np.ndarray, _Spec]]:
        """(columns, uniform slots, one spec over those columns) for each kind
        of distribution: every field of a kind is drawn in one call (a
        ``choice`` alone, its options' count being its own). A field of the
        draws takes the draw's slot, the last."""
        groups: dict[Any, list[tuple[int, int, _Spec]]] = {}
        slot = 0
        for column, spec in enumerate(self.fields.values()):
            if isinstance(spec, FromDraws):
                groups.setdefault("draws", []).append((column, self.uniforms_needed - 1, spec))
                continue
            kind = ("choice", column) if isinstance(spec, Choice) else spec.kind
            groups.setdefault(kind, []).append((column, slot, spec))
            slot += 1
        kinds = []
        for members in groups.values():
            columns = np.array([column for column, _, _ in members], dtype=np.int64)
            slots = np.array([slot for _, slot, _ in members], dtype=np.int64)
            specs = [spec for _, _, spec in members]
            kinds.append((columns, slots, _stacked(specs)))
        return kinds

    def sample(self, rng: np.random.Generator) -> Scenario:
        """One market drawn with ``rng``, as a validated scenario."""
        return self.scenario_with(self.values(rng.random((1, self.uniforms_needed)))[0])

    def positions(self, values: np.ndarray) -> np.ndarray:
        """(M, F) float32: each value's position in its distribution, in [0, 1]."""
        values = np.atleast_2d(values)
        positions = np.empty(values.shape, dtype=np.float32)
        for columns, _, spec in self._kinds:
            positions[:, columns] = spec.position(values[:, columns])
        return positions

    def scenario_with(self, values: np.ndarray | Sequence[float]) -> Scenario:
        """The point scenario with the uncertain fields at ``values``, validated."""
        data = self.point.model_dump()
        for path, value in zip(self.paths, values, strict=True):
            _set(data, path, float(value))
        return validate_scenario(data, f"{self.origin}: a draw")

    def fixed_values(self, given: Any) -> np.ndarray:
        """The values ``reset(options={"parameters": given})`` fixes, NaN where
        ``given`` leaves a field to be drawn.

        Args:
            given: a mapping of uncertain field paths to values, or a whole
                scenario (a :class:`Scenario`, or a mapping with its fields)
                of the same shape that differs from :meth:`mean` only in the
                uncertain fields.

        Raises:
            ScenarioError: an unknown or fixed field, or a value outside its
                field's distribution (the message names both).
        """
        if isinstance(given, Scenario) or (isinstance(given, Mapping) and "segments" in given):
            scenario = validate_scenario(
                given.model_dump() if isinstance(given, Scenario) else given,
                "options parameters",
            )
            given = self._values_of(scenario)
        if not isinstance(given, Mapping):
            raise ScenarioError(
                "options parameters: a mapping of field paths to values, or a scenario; "
                f"got {type(given).__name__}"
            )
        fixed = np.full(len(self.fields), np.nan)
        for name, value in given.items():
            if name not in self.fields:
                raise ScenarioError(
                    f"options parameters: {name} is not an uncertain field of "
                    f"{self.origin}; the uncertain fields are {self.names}"
                )
            spec = self.fields[name]
            if not isinstance(value, int | float) or not spec.contains(float(value)):
                raise ScenarioError(
                    f"options parameters: {name} = {value!r} is outside its distribution "
                    f"({spec.text()})"
                )
            fixed[self.names.index(name)] = float(value)
        return fixed

    def _values_of(self, scenario: Scenario) -> dict[str, float]:
        """The uncertain fields of a whole scenario, refusing other differences."""
        theirs, ours = _leaves(scenario.model_dump()), _leaves(self.point.model_dump())
        uncertain = set(self.paths)
        for path in sorted(set(theirs) | set(ours), key=str):
            if path not in uncertain and theirs.get(path) != ours.get(path) and path != ("name",):
                raise ScenarioError(
                    f"options parameters: the scenario's {path_text(path)} "
                    f"({theirs.get(path)!r}) differs from {self.origin}'s "
                    f"({ours.get(path)!r}), which is not uncertain"
                )
        return {path_text(path): theirs[path] for path in self.paths}

    def describe(self) -> list[str]:
        """One line per uncertain field (``gtmgym describe``)."""
        lines = [
            f"{name:<40} {spec.text()}, mean {value:g}"
            for (name, spec), value in zip(self.fields.items(), self._point_values(), strict=True)
        ]
        if self.draw_count:
            lines.append(f"each episode plays one of {self.draw_count} draws")
        return lines

    def _point_values(self) -> list[float]:
        leaves = _leaves(self.point.model_dump())
        return [leaves[path] for path in self.paths]


def _stacked(specs: list[_Spec]) -> _Spec:
    """One spec of ``specs``' kind whose numbers are arrays, one entry per spec."""
    first = specs[0]
    if len(specs) == 1 and not isinstance(first, FromDraws):
        return first
    if isinstance(first, FromDraws):
        return FromDraws(np.array([spec.per_draw for spec in specs]).T)
    numbers = {
        field.name: np.array([getattr(spec, field.name) for spec in specs])
        for field in dataclasses.fields(first)
        if field.name != "log_scale"
    }
    if isinstance(first, TruncatedNormal):
        return TruncatedNormal(**numbers, log_scale=first.log_scale)
    return type(first)(**numbers)


def load_distribution(
    source: Any, overrides: Mapping[str, Any] | None = None
) -> ScenarioDistribution:
    """A scenario distribution from a bundled name, a path, a mapping, a
    :class:`Scenario` (fixed: nothing varies) or a distribution.

    Raises:
        ScenarioError: naming the file, the field path and the value, for a
            distribution on a field that may not vary, a support outside the
            field's allowed range, a malformed distribution, or an invalid
            draw.
    """
    if isinstance(source, ScenarioDistribution):
        if overrides:
            raise ScenarioError("overrides apply to a scenario file or mapping, not a distribution")
        return source
    if isinstance(source, Scenario) and not overrides:
        return ScenarioDistribution(source, {}, (), origin=f"scenario {source.name!r}")
    data, origin, folder = scenario_source(source)
    if overrides:
        data = merged(data, overrides)
    if not isinstance(data, Mapping):
        validate_scenario(data, origin)  # raises with the usual message
    data = dict(data)
    source = _copy(data) | ({"draws": _absolute(data["draws"], folder)} if "draws" in data else {})
    if "family" in data:  # levels of a generated family (gtmgym/scenarios/family.py)
        from gtmgym.scenarios.family import expand_family

        data = expand_family(data, origin)
    settings = {key: data.pop(key) for key in SETTINGS if key in data}
    observe = settings.get("observe_parameters", False)
    if not isinstance(observe, bool):
        raise ScenarioError(f"{origin}: observe_parameters must be true or false, got {observe!r}")
    specs: dict[Path_, _Spec] = {}
    data = _replace_distributions(data, (), specs, origin)
    draws = _draws(settings.get("draws"), data, specs, origin, folder)
    for path, spec in draws.items():
        _set(data, path, spec.mean())
    specs_in_order = {**specs, **draws}
    point = validate_scenario(data, origin)
    distribution = ScenarioDistribution(
        point,
        {path_text(path): spec for path, spec in specs_in_order.items()},
        tuple(specs_in_order),
        observe_parameters=observe,
        draw_count=len(next(iter(draws.values())).per_draw) if draws else 0,
        origin=origin,
        source=source,
    )
    _check_supports(distribution, specs, origin)
    return distribution


def _absolute(draws: Any, folder: Path | None) -> Any:
    """``draws`` with its relative file paths made absolute (from ``folder``)."""
    if not isinstance(draws, list) or folder is None:
        return draws
    return [str((folder / entry).resolve()) if isinstance(entry, str) else entry for entry in draws]


def _replace_distributions(data: Any, path: Path_, specs: dict[Path_, _Spec], origin: str) -> Any:
    """``data`` with every distribution replaced by its mean, collected in ``specs``."""
    if isinstance(data, Mapping):
        kinds = [key for key in data if key in DISTRIBUTION_KINDS]
        if kinds:
            spec = _spec(path, data, origin)
            specs[path] = spec
            return spec.mean()
        return {
            key: _replace_distributions(value, (*path, key), specs, origin)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [
            _replace_distributions(value, (*path, index), specs, origin)
            for index, value in enumerate(data)
        ]
    return data


def _spec(path: Path_, data: Mapping[str, Any], origin: str) -> _Spec:
    """The distribution written at ``path``, checked against the field's range."""
    where = f"{origin}: {path_text(path)}"
    _check_may_vary(path, where)
    if len(data) != 1:
        raise ScenarioError(
            f"{where}: a distribution is one of {', '.join(DISTRIBUTION_KINDS)} alone, "
            f"got keys {sorted(data)} (got {data!r})"
        )
    ((kind, given),) = data.items()
    allowed = field_range(path)
    low, high = allowed.inner()
    if kind == "uniform":
        lower, upper = _numbers(given, 2, where, "uniform: [low, high]")
        if lower > upper:
            raise ScenarioError(f"{where}: uniform low {lower:g} exceeds high {upper:g}")
        spec: _Spec = Uniform(lower, upper)
    elif kind == "choice":
        if not isinstance(given, list) or not given:
            raise ScenarioError(f"{where}: choice needs a non-empty list, got {given!r}")
        spec = Choice(tuple(_numbers(given, len(given), where, "choice: [a, b, ...]")))
    else:
        spec = _truncated(kind, given, where, (low, high))
    for end in spec.ends():
        if not allowed.contains(end):
            raise ScenarioError(
                f"{where}: {spec.text()} reaches {end:g}, outside the field's allowed range "
                f"{allowed.text} (docs/model.md, Allowed ranges)"
            )
    return spec


def _check_may_vary(path: Path_, where: str) -> None:
    key = field_key(path)
    if key in KERNEL_FIELDS:
        return
    reason = FIXED_FIELDS.get(key)
    if reason is None and key[:1] == ("actions",):
        reason = "a setting of the action catalogue"
    if reason is None:
        reason = "not a numeric parameter of the model"
    may_vary = sorted({".".join(k) for k in KERNEL_FIELDS})
    raise ScenarioError(
        f"{where}: this field cannot be a distribution ({reason}); the fields that may "
        f"vary are {', '.join(may_vary)}"
    )


def _numbers(given: Any, count: int, where: str, form: str) -> list[float]:
    if (
        not isinstance(given, list)
        or len(given) != count
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in given)
        or not all(math.isfinite(v) for v in given)
    ):
        raise ScenarioError(f"{where}: expected {form} with finite numbers, got {given!r}")
    return [float(v) for v in given]


def _truncated(kind: str, given: Any, where: str, field: tuple[float, float]) -> _Spec:
    names = ("mean", "sd") if kind == "normal" else ("median", "sigma")
    form = f"{kind}: {{{names[0]}: ..., {names[1]}: ..., low: ..., high: ...}} (low, high optional)"
    if (
        not isinstance(given, Mapping)
        or not set(names) <= set(given)
        or (set(given) - {*names, "low", "high"})
    ):
        raise ScenarioError(f"{where}: expected {form}, got {given!r}")
    values = {key: _numbers([given[key]], 1, where, form)[0] for key in given}
    centre, spread = values[names[0]], values[names[1]]
    low, high = (
        max(values.get("low", -math.inf), field[0]),
        min(values.get("high", math.inf), field[1]),
    )
    if kind == "lognormal":
        low = max(low, _ABOVE_ZERO)
        if centre <= 0:
            raise ScenarioError(f"{where}: lognormal median must be above 0, got {centre:g}")
    if spread < 0 or low > high or not low <= centre <= high:
        raise ScenarioError(
            f"{where}: {kind} needs {names[1]} >= 0 and {names[0]} within {_interval(low, high)} "
            f"(the field's allowed range and the given low/high), got {dict(given)!r}"
        )
    spec = TruncatedNormal(
        math.log(centre) if kind == "lognormal" else centre,
        spread,
        low,
        high,
        point=centre,
        log_scale=kind == "lognormal",
    )
    if spread > 0:
        below, up_to = spec._mass()
        if not up_to - below > 1e-9:
            raise ScenarioError(f"{where}: {spec.text()} has almost no mass inside its range")
    return spec


def _draws(
    given: Any, data: dict[str, Any], specs: dict[Path_, _Spec], origin: str, folder: Path | None
) -> dict[Path_, FromDraws]:
    """The fields that differ among the file's complete draws, with each draw's value."""
    if given is None:
        return {}
    if not isinstance(given, list) or not given:
        raise ScenarioError(
            f"{origin}: draws is a non-empty list of scenario files or mappings, got {given!r}"
        )
    base = validate_scenario(data, origin)
    ours = _leaves(base.model_dump())
    leaves = []
    for number, entry in enumerate(given):
        if isinstance(entry, str):
            path = Path(entry)
            path = path if path.is_absolute() or folder is None else folder / path
            draw_data, draw_origin, _ = scenario_source(path)
        elif isinstance(entry, Mapping):
            draw_data, draw_origin = merged(data, entry), f"{origin}: draws[{number}]"
        else:
            raise ScenarioError(
                f"{origin}: draws[{number}] is a file path or a mapping, got {entry!r}"
            )
        theirs = _leaves(validate_scenario(draw_data, draw_origin).model_dump())
        for key in set(theirs) | set(ours):
            if theirs.get(key) == ours.get(key) or key == ("name",) or key == ("description",):
                continue
            if field_key(key) not in KERNEL_FIELDS:
                raise ScenarioError(
                    f"{draw_origin}: {path_text(key)} is {theirs.get(key)!r} but "
                    f"{ours.get(key)!r} in {origin}; draws may differ only in the numeric "
                    "parameters that may vary (docs/uncertainty.md)"
                )
            if key in specs:
                raise ScenarioError(
                    f"{draw_origin}: {path_text(key)} varies among the draws and is also a "
                    "distribution; give it one or the other"
                )
        leaves.append(theirs)
    varying = [
        key
        for key in ours
        if field_key(key) in KERNEL_FIELDS and any(leaf[key] != ours[key] for leaf in leaves)
    ]
    return {key: FromDraws(tuple(float(leaf[key]) for leaf in leaves)) for key in varying}


def _check_supports(
    distribution: ScenarioDistribution, specs: dict[Path_, _Spec], origin: str
) -> None:
    """Every end of every support, and every corner of the coupled fields'
    supports, must be a valid scenario (the message names the field and value)."""
    point = distribution.point.model_dump()
    for path, spec in specs.items():
        for end in spec.ends():
            _validate_with(
                point, {path: end}, origin, f"{path_text(path)} at {end:g} ({spec.text()})"
            )
    by_path = dict(zip(distribution.paths, distribution.fields.values(), strict=True))
    for first, second in COUPLED:
        for a, b in itertools.product(by_path, by_path):
            if field_key(a) != first or field_key(b) != second or a[:2] != b[:2]:
                continue
            for ends in itertools.product(by_path[a].ends(), by_path[b].ends()):
                what = (
                    f"{path_text(a)} at {ends[0]:g} ({by_path[a].text()}) with "
                    f"{path_text(b)} at {ends[1]:g} ({by_path[b].text()})"
                )
                _validate_with(point, dict(zip((a, b), ends, strict=True)), origin, what)


def _validate_with(
    point: dict[str, Any], values: dict[Path_, float], origin: str, what: str
) -> None:
    data = _copy(point)
    for path, value in values.items():
        _set(data, path, value)
    try:
        validate_scenario(data, origin)
    except ScenarioError as error:
        problem = str(error).split("\n", 1)[-1].strip()
        raise ScenarioError(
            f"{origin}: a draw could be invalid: {what}:\n  {problem.removeprefix('- ')}"
        ) from None


def _leaves(data: Any, path: Path_ = ()) -> dict[Path_, Any]:
    """Every leaf of nested mappings and lists, by path."""
    if isinstance(data, Mapping):
        found: dict[Path_, Any] = {}
        for key, value in data.items():
            found.update(_leaves(value, (*path, key)))
        return found
    if isinstance(data, list) and not (path and path[-1] == "spend_levels"):
        found = {}
        for index, value in enumerate(data):
            found.update(_leaves(value, (*path, index)))
        return found
    return {path: data}


def _set(data: Any, path: Path_, value: float) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {key: _copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_copy(value) for value in data]
    return data


def parameter_uniforms(keys: np.ndarray, count: int) -> np.ndarray:
    """(M, count) uniforms in [0, 1) for the parameters of ``M`` markets, from
    their episode keys ((M, 4) uint64, what
    :func:`~gtmgym.envs.kernel.stream_key` takes from a market's generator).

    A hash of the key (splitmix64's finaliser, Steele, Lea and Flood 2014, on
    the key's words and then on a counter), not further draws from the
    generator: a market takes from its generator what it takes with fixed
    parameters, so a distribution of zero width plays the fixed scenario's
    episodes bit for bit, every one.
    """
    return _hashed_uniforms(np.ascontiguousarray(keys, dtype=np.uint64), count)


@njit(cache=True)
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _hashed_uniforms(keys: np.ndarray, count: int) -> np.ndarray:
    golden = np.uint64(0x9E3779B97F4A7C15)
    uniforms = np.empty((keys.shape[0], count))
    for market in range(keys.shape[0]):
        state = np.uint64(0x7061726D73)  # "parms": apart from the noise stream's use of the key
        for word in range(keys.shape[1]):
            state = _mix(state ^ keys[market, word]) + golden
        for k in range(count):
            bits = _mix(state + np.uint64(k + 1) * golden)
            uniforms[market, k] = (bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return uniforms


def parameters_option(options: Mapping[str, Any] | None, distribution: ScenarioDistribution) -> Any:
    """``options["parameters"]`` of a ``reset`` (:data:`KEEP` when not given).

    Raises:
        ScenarioError: parameters given to fix a scenario that has none uncertain.
    """
    if not options or "parameters" not in options:
        return KEEP
    if options["parameters"] is not None and not distribution.uncertain:
        raise ScenarioError(
            f"options parameters: {distribution.origin} has no uncertain parameters to fix"
        )
    return options["parameters"]


KEEP = object()  # reset without a parameters option: the fixed values stay


class ParameterDraws:
    """The parameters an environment draws for its markets at each reset.

    Holds, per market, the values ``reset(options={"parameters": ...})``
    fixed (NaN: drawn), and turns values into the kernel's parameter rows.
    """

    def __init__(self, distribution: ScenarioDistribution, params: MarketParams, num_envs: int):
        self.distribution = distribution
        self._base = params.kernel
        self._sizes = params.n_segments, params.n_channels
        self._columns = np.array(
            [kernel_column(path, self._base.layout) for path in distribution.paths], dtype=np.int64
        )
        self.fixed = np.full((num_envs, len(distribution.paths)), np.nan)
        self.mean = np.array(distribution._point_values(), dtype=float)

    def fix(self, given: Any) -> None:
        """Fix the values of later draws: ``given`` for every market, a list
        with one entry per market (None: drawn), or None (all drawn again);
        :data:`KEEP` changes nothing."""
        if given is KEEP:
            return
        markets = len(self.fixed)
        if isinstance(given, list):
            if len(given) != markets:
                raise ScenarioError(
                    f"options parameters: a list needs one entry per market: {markets}, "
                    f"got {len(given)}"
                )
            entries = given
        else:
            entries = [given] * markets
        fixed = np.full_like(self.fixed, np.nan)
        for market, entry in enumerate(entries):
            if entry is not None:
                fixed[market] = self.distribution.fixed_values(entry)
        self.fixed = fixed

    def draw(self, keys: np.ndarray, markets: np.ndarray) -> np.ndarray:
        """(M, F) values of ``markets`` (indices), drawn from their keys (M, 4)."""
        uniforms = parameter_uniforms(keys, self.distribution.uniforms_needed)
        values = self.distribution.values(uniforms)
        fixed = self.fixed[markets]
        return np.where(np.isnan(fixed), values, fixed)

    def rows(self, values: np.ndarray) -> Params:
        """The kernel's parameter rows of markets with ``values`` (M, F)."""
        return kernel_rows(self._base, self._columns, values, *self._sizes)

    def info(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """``info["parameters"]``: each uncertain field's (M,) values, by path."""
        return {name: values[:, k] for k, name in enumerate(self.distribution.names)}

"""Extreme but schema-valid numbers run finite, or are refused when loaded.

The fuzz walk takes every bundled scenario and sets one numeric field at a
time (nested ones too: ``segments[2].competitor.share``,
``channels[1].effectiveness[0]``, ``budget.total``) to each of
:data:`EXTREMES`. Every variant the schema accepts is played for a few periods
with random valid actions, noisy and noise-free, in the scalar and the vector
environment, in a worker process: a variant that hangs (a compiled loop that
never ends cannot be interrupted from inside) is detected by the parent's
timeout, not suffered.

``python tests/test_extreme_inputs.py`` runs the walk and prints the counts
of each outcome (``--values`` picks other extremes).
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

EXTREMES = (1e308, 1e15, 1e-300, 0.0, -1e15, -1e308)
STEPS = 6  # the hangs seen in issue 10 came at the third step
CASE_SECONDS = 20.0  # a variant plays in milliseconds; anything near this has hung
STARTUP_SECONDS = 600.0  # the worker's first step may compile the simulator
OUTCOMES = ("rejected", "finite", "refused-at-step", "non-finite", "other-error", "hung")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Case:
    """One bundled scenario with one field set to one value."""

    scenario: str
    path: Path_
    value: float

    @property
    def label(self) -> str:
        return f"{self.scenario}: {_field_path(self.path)} = {self.value!r}"


def numeric_fields(data: Any, path: Path_ = ()) -> list[Path_]:
    """Paths of every number in a dumped scenario, and of every ``None`` (in
    the schema only optional numbers default to ``None``: ``budget.total``,
    ``budget.initial_cash``, ``channels[c].max_spend``)."""
    if isinstance(data, dict):
        return [
            found for key, value in data.items() for found in numeric_fields(value, (*path, key))
        ]
    if isinstance(data, list):
        return [
            found for k, value in enumerate(data) for found in numeric_fields(value, (*path, k))
        ]
    if data is None or (isinstance(data, int | float) and not isinstance(data, bool)):
        return [path]
    return []


def walk_cases(values: tuple[float, ...] = EXTREMES) -> list[Case]:
    """Every (bundled scenario, numeric field, extreme value)."""
    import gtmgym

    cases = []
    for name in gtmgym.bundled_scenarios():
        dumped = gtmgym.load_scenario(name).model_dump()
        for path in numeric_fields(dumped):
            cases += [Case(name, path, value) for value in values]
    return cases


def with_value(data: Any, path: Path_, value: float) -> Any:
    """A copy of ``data`` with the entry at ``path`` set to ``value``."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, list):
        return [
            with_value(item, rest, value) if k == head else item for k, item in enumerate(data)
        ]
    return {
        key: with_value(item, rest, value) if key == head else item for key, item in data.items()
    }


def _field_path(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text

TESTED = (1e308, 1e15, 1e12, 1e-300)  # issue 10's three, and the largest money allowed


# ------------------------------------------------------------------- the tests


def test_every_extreme_number_is_refused_when_loaded_or_runs_finite():
    results = run_cases(walk_cases(TESTED))
    bad = [f"{outcome}: {case.label}  {detail}" for case, outcome, detail in results
           if outcome not in ("rejected", "finite")]  # fmt: skip
    assert not bad, "\n".join(bad[:20])
    counts = summary(results)
    assert counts["finite"] > 100 and counts["rejected"] > 100  # the walk reached both


def test_a_refusal_names_the_field_and_the_allowed_range():
    import gtmgym

    data = gtmgym.load_scenario("cross-border-ecommerce").model_dump()
    outcome, detail = play_case(Case("cross-border-ecommerce", ("budget", "per_period"), 1e308))
    assert outcome == "rejected"
    assert "budget.per_period" in detail and "1e+12" in detail and "Allowed ranges" in detail
    grown = with_value(data, ("segments", 0, "growth"), 1.0)
    grown = with_value(grown, ("periods",), 1000)
    with pytest.raises(gtmgym.ScenarioError, match=r"segments\[0\]\.population.*growth"):
        gtmgym.load_scenario(grown)


def test_samplers_refuse_inputs_that_would_loop_forever():
    import numpy as np

    from gtmgym.envs.kernel import randomness

    state = randomness.stream_key(np.random.default_rng(0))
    assert randomness.binomial(state, 10**6, float("nan")) == randomness.REFUSED
    assert randomness.binomial(state, 2**60, 0.5) == randomness.REFUSED
    out = np.full(2, 7, dtype=np.int64)
    assert not randomness.multinomial(state, 100, np.array([0.5, float("inf")]), out)
    assert not randomness.multinomial(state, 2**60, np.array([0.5, 0.5]), out)
    assert out.tolist() == [7, 7]  # untouched
    assert 0 < randomness.binomial(state, 10**6, 0.5) < 10**6  # ordinary input still draws
    assert randomness.multinomial(state, 100, np.array([0.5, 0.25]), out) and out.sum() <= 100


def test_a_non_finite_state_is_an_error_naming_the_period_and_figure():
    import gymnasium as gym

    import gtmgym

    env = gym.make(gtmgym.ENV_ID, scenario="default", noise=False).unwrapped
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.state.adstock[0, 0, 0] = float("inf")  # as an overflow would leave it
    named = r"period 2: won_by_channel\[0, 0\] is nan, .*float64"
    with pytest.raises(gtmgym.NonFiniteStateError, match=named):
        env.step(env.action_space.sample())


def test_the_finiteness_check_finds_any_non_finite_entry_of_a_row():
    # the compiled check sums x - x in whatever order the compiler picks
    # (vector instructions): a NaN or an infinity anywhere must still show
    import numpy as np

    from gtmgym.envs.kernel.advance import _drift

    for width in (1, 7, 64, 131):
        assert _drift(np.full(width, 1.0e308)) == 0.0
        for bad in (float("nan"), float("inf"), -float("inf")):
            for position in {0, width // 2, width - 1}:
                row = np.linspace(-5.0, 5.0, width)
                row[position] = bad
                assert np.isnan(_drift(row)), (width, bad, position)


# ---------------------------------------------------------------- worker side


def play_case(case: Case) -> tuple[str, str]:
    """(outcome, detail) of one case, played in this process."""
    import gymnasium as gym
    import numpy as np

    import gtmgym

    refusals = (gtmgym.ScenarioError,)
    step_refusal = getattr(gtmgym, "NonFiniteStateError", None)
    data = with_value(gtmgym.load_scenario(case.scenario).model_dump(), case.path, case.value)
    try:
        gtmgym.load_scenario(data)
    except refusals as error:
        return "rejected", str(error).splitlines()[-1].strip()
    runs = [("scalar", True), ("scalar", False), ("vector", True), ("vector", False)]
    for kind, noise in runs:
        try:
            if kind == "scalar":
                env = gym.make(gtmgym.ENV_ID, scenario=data, noise=noise)
            else:
                env = gym.make_vec(
                    gtmgym.ENV_ID,
                    num_envs=2,
                    vectorization_mode="vector_entry_point",
                    scenario=data,
                    noise=noise,
                )
            env.action_space.seed(0)
            observation, info = env.reset(seed=0)
            figures = [("observation", observation)]
            for period in range(1, STEPS + 1):
                observation, reward, terminated, _, info = env.step(env.action_space.sample())
                figures = [("observation", observation), ("reward", reward)]
                figures += [(key, value) for key, value in info.items() if key != "state"]
                for name, value in figures:
                    array = np.asarray(value)
                    if array.dtype.kind == "f" and not np.isfinite(array).all():
                        return "non-finite", f"{kind}, noise {noise}, period {period}: {name}"
                if np.any(terminated):
                    break
        except Exception as error:  # noqa: BLE001 - classified, then reported
            if step_refusal is not None and isinstance(error, step_refusal):
                return "refused-at-step", f"{kind}, noise {noise}: {error}"
            return "other-error", f"{kind}, noise {noise}: {type(error).__name__}: {error}"
    return "finite", ""


def _worker() -> None:
    """Read cases (JSON lines) from stdin, print one JSON result per case."""
    warnings.simplefilter("ignore")  # the env checker's warnings are not the question here
    import gtmgym

    play_case(Case(gtmgym.bundled_scenarios()[0], ("periods",), 2.0))  # compile before timing
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        case = Case(**{**json.loads(line), "path": tuple(json.loads(line)["path"])})
        outcome, detail = play_case(case)
        print(json.dumps({"outcome": outcome, "detail": detail}), flush=True)


# ---------------------------------------------------------------- parent side


def run_cases(cases: list[Case]) -> list[tuple[Case, str, str]]:
    """Play every case in worker processes; a case that does not finish within
    :data:`CASE_SECONDS` is ``hung``, and a fresh worker takes the rest."""
    results: list[tuple[Case, str, str]] = []
    while len(results) < len(cases):
        results += _run_until_hang(cases[len(results) :])
    return results


def _run_until_hang(cases: list[Case]) -> list[tuple[Case, str, str]]:
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in worker.stdout], daemon=True
    ).start()
    results = []
    try:
        if "ready" not in _next_line(lines, STARTUP_SECONDS):
            raise RuntimeError("the fuzz worker did not start")
        for case in cases:
            worker.stdin.write(json.dumps({**case.__dict__, "path": list(case.path)}) + "\n")
            worker.stdin.flush()
            try:
                answer = json.loads(_next_line(lines, CASE_SECONDS))
            except TimeoutError:
                results.append((case, "hung", f"no answer within {CASE_SECONDS:g} s"))
                break
            results.append((case, answer["outcome"], answer["detail"]))
    finally:
        worker.kill()
        worker.wait()
    return results


def _next_line(lines: queue.Queue[str], seconds: float) -> str:
    try:
        line = lines.get(timeout=seconds)
    except queue.Empty:
        raise TimeoutError from None
    if not line:
        raise RuntimeError("the fuzz worker died")
    return line


def summary(results: list[tuple[Case, str, str]]) -> Counter[str]:
    return Counter(outcome for _, outcome, _ in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--values", type=float, nargs="+", default=list(EXTREMES))
    parser.add_argument("--verbose", action="store_true", help="print every case")
    arguments = parser.parse_args()
    if arguments.worker:
        _worker()
        return
    cases = walk_cases(tuple(arguments.values))
    started = time.perf_counter()
    results = run_cases(cases)
    for case, outcome, detail in results:
        if arguments.verbose or outcome not in ("rejected", "finite"):
            print(f"{outcome:16} {case.label}  {detail}")
    counts = summary(results)
    print(f"{len(results)} cases in {time.perf_counter() - started:.0f} s:")
    for value in arguments.values:
        by_value = summary([result for result in results if result[0].value == value])
        print(f"  {value!r:>8}: " + ", ".join(f"{o} {by_value[o]}" for o in OUTCOMES))
    print("  total   : " + ", ".join(f"{o} {counts[o]}" for o in OUTCOMES))


if __name__ == "__main__":
    main()

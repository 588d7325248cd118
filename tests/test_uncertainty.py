"""Scenario distributions: parameters drawn at each reset (docs/uncertainty.md)."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import gtmgym
from gtmgym.cli import main
from gtmgym.envs import ENV_ID, ScenarioError
from gtmgym.envs.distribution import load_distribution, parameter_uniforms, path_text
from gtmgym.envs.params import KERNEL_FIELDS, MarketParams, field_key
from gtmgym.scenarios import random_scenario

DEFAULT = gtmgym.load_scenario("default").model_dump(mode="json")


def uncertain_default(observe: bool = False) -> dict:
    """The default market with every kind of distribution on some field."""
    data = copy.deepcopy(DEFAULT)
    home, europe, america = data["segments"]
    home["churn"] = {"uniform": [0.02, 0.04]}
    europe["population"] = {"normal": {"mean": 40000.0, "sd": 6000.0, "low": 20000.0}}
    america["revenue_per_customer"] = {"lognormal": {"median": 0.06, "sigma": 0.3}}
    data["channels"][0]["slope"] = {"choice": [1.0, 1.5, 2.0]}
    data["channels"][1]["effectiveness"][2] = {"uniform": [0.01, 0.04]}
    data["budget"]["per_period"] = {"normal": {"mean": 100.0, "sd": 30.0, "high": 130.0}}
    data["observe_parameters"] = observe
    return data


def zero_width(data: dict) -> dict:
    """``data`` with each distribution of :func:`uncertain_default` at the default's value."""
    home, europe, america = data["segments"]
    home["churn"] = {"uniform": [0.03, 0.03]}
    europe["population"] = {"normal": {"mean": 40000.0, "sd": 0.0}}
    america["revenue_per_customer"] = {"lognormal": {"median": 0.06, "sigma": 0.0}}
    data["channels"][0]["slope"] = {"choice": [1.5]}
    data["channels"][1]["effectiveness"][2] = {"uniform": [0.025, 0.025]}
    data["budget"]["per_period"] = {"normal": {"mean": 100.0, "sd": 0.0}}
    return data


def rollout(env: gym.Env, seed: int, episodes: int = 2) -> list:
    """Observations, rewards and drawn parameters of ``episodes`` seeded episodes."""
    env.action_space.seed(seed)
    trace = []
    for episode in range(episodes):
        observation, info = env.reset(seed=seed if episode == 0 else None)
        trace.append((observation, info.get("parameters")))
        terminated = False
        while not terminated:
            observation, reward, terminated, _, _ = env.step(env.action_space.sample())
            trace.append((observation, reward))
    return trace


def test_drawn_parameters_stay_within_their_supports_and_repeat_for_a_seed():
    distribution = load_distribution(uncertain_default())
    env = gym.make(ENV_ID, scenario=distribution)
    drawn = {name: [] for name in distribution.names}
    for seed in range(300):
        parameters = env.reset(seed=seed)[1]["parameters"]
        assert env.reset(seed=seed)[1]["parameters"] == parameters
        for name, value in parameters.items():
            drawn[name].append(value)
    for name, spec in distribution.fields.items():
        values = np.array(drawn[name])
        low, high = spec.ends()
        assert values.min() >= low and values.max() <= high, name
        assert len(np.unique(values)) > 1, f"{name} never varied"
    assert set(drawn["channels[0].slope"]) == {1.0, 1.5, 2.0}
    assert max(drawn["budget.per_period"]) <= 130.0
    # the market played is the one drawn, and the same seed plays the same episodes
    assert all(
        np.array_equal(a[0], b[0]) and a[1] == b[1]
        for a, b in zip(rollout(env, 7), rollout(env, 7), strict=True)
    )


def widened(data: dict) -> tuple[dict, int]:
    """``data`` with every field that may vary a uniform 10% wide (upwards for
    population and max_spend, downwards otherwise, so that the checks made
    together hold), and how many fields that is."""
    count = 0
    for path, value in list(_numeric_leaves(data)):
        key = field_key(path)
        if key not in KERNEL_FIELDS:
            continue
        upwards = key[-1] in ("population", "max_spend")
        other = value * (1.1 if upwards else 0.9)
        _put(data, path, {"uniform": [min(value, other), max(value, other)]})
        count += 1
    return data, count


@pytest.mark.parametrize("seed", range(12))
def test_the_kernel_rows_drawn_are_those_of_the_drawn_scenario(seed: int):
    """The fast path (values written into the kernel's rows) against
    MarketParams.from_scenario of the validated drawn scenario, with every
    field that may vary drawn at once: on the default with every optional
    field given, and on random scenarios."""
    if seed == 0:
        data = copy.deepcopy(DEFAULT)
        data["budget"].update(total=20000.0, initial_cash=500.0)
        data["channels"][0].update(max_spend=150.0, min_spend=1.0)
    else:
        data = random_scenario(seed, noise=True)
    fixed_fields = {field_key(path) for path, _ in _numeric_leaves(data)} - set(KERNEL_FIELDS)
    assert fixed_fields <= {
        ("periods",),
        ("segments", "entry_delay"),
        ("segments", "adverse_event", "duration"),
        ("actions", "spend_levels"),
        ("actions", "multidiscrete_levels"),
    }
    data, count = widened(data)
    distribution = load_distribution(data)
    assert len(distribution.fields) == count
    env = gym.make(ENV_ID, scenario=distribution).unwrapped
    for episode in range(3):
        env.reset(seed=episode)
        expected = MarketParams.from_scenario(env.market_scenario()).kernel
        np.testing.assert_array_equal(env.kernel.data, expected.data)


def test_a_distribution_of_zero_width_plays_the_fixed_scenario_bit_for_bit():
    fixed = gym.make(ENV_ID, scenario="default")
    pointed = gym.make(ENV_ID, scenario=zero_width(uncertain_default()))
    np.testing.assert_array_equal(pointed.unwrapped.kernel.data, fixed.unwrapped.kernel.data)
    for seed in (0, 11):
        for ours, theirs in zip(rollout(pointed, seed, 3), rollout(fixed, seed, 3), strict=True):
            np.testing.assert_array_equal(ours[0], theirs[0])
            if theirs[1] is not None:
                assert ours[1] == theirs[1]
        np.testing.assert_array_equal(pointed.unwrapped.kernel.data, fixed.unwrapped.kernel.data)
    vector = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                          scenario=zero_width(uncertain_default()))
    plain = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    assert np.array_equal(vector.reset(seed=4)[0], plain.reset(seed=4)[0])
    for _ in range(30):
        actions = np.array([1, 2, 3])
        ours, theirs = vector.step(actions), plain.step(actions)
        for mine, other in zip(ours[:4], theirs[:4], strict=True):
            np.testing.assert_array_equal(mine, other)


@pytest.mark.parametrize("autoreset", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_the_vector_env_draws_per_market_as_scalar_envs_with_the_matching_seeds(autoreset):
    data, seed, count = uncertain_default(observe=True), 20, 4
    data["periods"] = 6  # several episodes, so several draws, per market
    vector = gym.make_vec(ENV_ID, num_envs=count, vectorization_mode="vector_entry_point",
                          scenario=data, autoreset_mode=autoreset)
    scalars = [gym.make(ENV_ID, scenario=data) for _ in range(count)]
    observations, info = vector.reset(seed=seed)
    for market, env in enumerate(scalars):
        alone, alone_info = env.reset(seed=seed + market)
        np.testing.assert_array_equal(observations[market], alone)
        for name, value in alone_info["parameters"].items():
            assert info["parameters"][name][market] == value
    churns = info["parameters"]["segments[0].churn"]
    assert len(set(churns)) == count, "the markets drew alike"
    rng, finished, redrawn = np.random.default_rng(0), np.zeros(count, dtype=bool), 0
    for _ in range(20):
        actions = rng.integers(0, vector.single_action_space.n, count)
        observations, rewards, terminated, _, info = vector.step(actions)
        for market, env in enumerate(scalars):
            if autoreset == AutoresetMode.NEXT_STEP and finished[market]:
                alone, alone_info = env.reset()
                assert info["_parameters"][market]
                redrawn += 1
            else:
                alone, reward, done, _, _ = env.step(actions[market])
                assert reward == rewards[market] and done == terminated[market]
                if done and autoreset == AutoresetMode.SAME_STEP:
                    np.testing.assert_array_equal(info["final_obs"][market], alone)
                    alone, alone_info = env.reset()
                    assert info["_parameters"][market]
                    redrawn += 1
            if "_parameters" in info and info["_parameters"][market]:
                for name, value in alone_info["parameters"].items():
                    assert info["parameters"][name][market] == value
            np.testing.assert_array_equal(observations[market], alone)
        finished = terminated
    assert redrawn >= count
    assert vector.observation_space.contains(observations)


def test_options_fix_the_parameters_until_they_are_cleared():
    data = uncertain_default(observe=True)
    env = gym.make(ENV_ID, scenario=data)
    given = {"segments[0].churn": 0.035, "channels[0].slope": 2.0}
    parameters = env.reset(seed=1, options={"parameters": given})[1]["parameters"]
    assert parameters["segments[0].churn"] == 0.035 and parameters["channels[0].slope"] == 2.0
    again = env.reset(seed=2)[1]["parameters"]
    assert again["segments[0].churn"] == 0.035  # still fixed
    assert again["segments[1].population"] != parameters["segments[1].population"]  # drawn
    cleared = env.reset(seed=2, options={"parameters": None})[1]["parameters"]
    assert cleared["segments[0].churn"] != 0.035
    # a whole scenario fixes every uncertain field
    market = env.unwrapped.market_scenario()
    env.reset(seed=9, options={"parameters": market})
    assert env.unwrapped.market_scenario() == market
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.growth is not an uncertain field"):
        env.reset(options={"parameters": {"segments[0].growth": 0.01}})
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.churn = 0.5 is outside"):
        env.reset(options={"parameters": {"segments[0].churn": 0.5}})
    with pytest.raises(ScenarioError, match=r"periods .* not uncertain"):
        env.reset(options={"parameters": dict(market.model_dump(), periods=12)})
    vector = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point",
                          scenario=data)
    info = vector.reset(seed=0, options={"parameters": [given, None]})[1]
    assert info["parameters"]["segments[0].churn"][0] == 0.035
    assert info["parameters"]["segments[0].churn"][1] != 0.035
    with pytest.raises(ScenarioError, match="has no uncertain parameters to fix"):
        gym.make(ENV_ID, scenario="default").reset(options={"parameters": given})
    plain = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ScenarioError, match="has no uncertain parameters to fix"):
        plain.reset(options={"parameters": given})


def test_environments_with_distributions_pickle_and_play_on():
    """A copy carries the drawn market and the generators: later draws match too."""
    data = dict(uncertain_default(observe=True), periods=8)
    scalar = gym.make(ENV_ID, scenario=data).unwrapped
    vector = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                          scenario=data).unwrapped
    for env in (scalar, vector):
        env.reset(seed=5)
        copied = pickle.loads(pickle.dumps(env))
        actions = env.action_space.sample()
        for _ in range(30):
            ours, theirs = env.step(actions), copied.step(actions)
            for mine, other in zip(ours[:4], theirs[:4], strict=True):
                np.testing.assert_array_equal(mine, other)
            if env is scalar and ours[2]:
                assert env.reset()[1]["parameters"] == copied.reset()[1]["parameters"]
                assert env.market_scenario() == copied.market_scenario()


def test_observed_parameters_are_their_positions_in_the_distributions():
    distribution = load_distribution(uncertain_default(observe=True))
    env = gym.make(ENV_ID, scenario=distribution)
    check_env(env.unwrapped, skip_render_check=True)
    names = env.unwrapped.feature_names
    assert names[-len(distribution.fields):] == [f"parameter[{n}]" for n in distribution.names]
    observation, info = env.reset(seed=3)
    features = observation[-len(distribution.fields):]
    assert env.observation_space.contains(observation)
    churn = info["parameters"]["segments[0].churn"]
    assert features[names.index("parameter[segments[0].churn]") - len(names)] == pytest.approx(
        (churn - 0.02) / 0.02, abs=1e-6
    )
    assert len(gym.make(ENV_ID, scenario=uncertain_default()).reset(seed=3)[0]) == len(
        observation
    ) - len(distribution.fields)


def test_sample_and_mean_are_scenarios_of_the_distribution():
    distribution = load_distribution(uncertain_default())
    mean = distribution.mean()
    assert mean.segments[0].churn == pytest.approx(0.03)
    assert mean.channels[0].slope == pytest.approx(1.5)
    # a lognormal's mean lies above its median
    assert 0.06 < mean.segments[2].revenue_per_customer < 0.07
    first = distribution.sample(np.random.default_rng(5))
    assert first == distribution.sample(np.random.default_rng(5))
    assert first != distribution.sample(np.random.default_rng(6))
    assert 0.02 <= first.segments[0].churn <= 0.04
    uniforms = parameter_uniforms(np.arange(40, dtype=np.uint64).reshape(10, 4), 3)
    assert uniforms.shape == (10, 3) and (uniforms >= 0).all() and (uniforms < 1).all()
    assert len(np.unique(uniforms)) == uniforms.size


def test_complete_draws_are_played_one_per_episode(tmp_path: Path):
    for number, (churn, decay) in enumerate(((0.02, 0.3), (0.05, 0.4)), start=1):
        draw = copy.deepcopy(DEFAULT)
        draw["segments"][0]["churn"] = churn
        draw["channels"][0]["decay"] = decay
        (tmp_path / f"draw-{number:02d}.yaml").write_text(yaml.safe_dump(draw))
    data = dict(copy.deepcopy(DEFAULT), draws=["draw-01.yaml", "draw-02.yaml"])
    (tmp_path / "market.yaml").write_text(yaml.safe_dump(data))
    distribution = load_distribution(tmp_path / "market.yaml")
    assert distribution.names == ["segments[0].churn", "channels[0].decay"]
    assert distribution.fields["channels[0].decay"].ends() == (0.3, 0.4)
    assert distribution.mean().segments[0].churn == pytest.approx(0.035)
    env = gym.make(ENV_ID, scenario=str(tmp_path / "market.yaml"))
    seen = set()
    for seed in range(20):
        parameters = env.reset(seed=seed)[1]["parameters"]
        seen.add((parameters["segments[0].churn"], parameters["channels[0].decay"]))
    assert seen == {(0.02, 0.3), (0.05, 0.4)}  # whole draws, never mixed


BROKEN = {
    "outside the range": (
        ("segments", 0, "churn"), {"uniform": [0.5, 1.5]},
        r"segments\[0\]\.churn: uniform \[0.5, 1.5\] reaches 1.5, outside .*\[0, 1\]",
    ),
    "an integer field": (
        ("periods",), {"uniform": [12, 24]}, r"periods: this field cannot be a distribution",
    ),
    "the entry delay": (
        ("segments", 1, "entry_delay"), {"choice": [1, 3]},
        r"segments\[1\]\.entry_delay: this field cannot be a distribution \(an integer",
    ),
    "a negative sd": (
        ("channels", 0, "decay"), {"normal": {"mean": 0.3, "sd": -1.0}},
        r"channels\[0\]\.decay: normal needs sd >= 0",
    ),
    "two kinds": (
        ("segments", 0, "churn"), {"uniform": [0.0, 0.1], "choice": [0.1]},
        r"segments\[0\]\.churn: a distribution is one of",
    ),
    "a malformed uniform": (
        ("segments", 0, "churn"), {"uniform": [0.1]}, r"segments\[0\]\.churn: expected uniform",
    ),
    "customers beyond the population": (
        ("segments", 0, "population"), {"normal": {"mean": 30000.0, "sd": 1000.0}},
        r"(?s)segments\[0\]\.population at 4.94066e-324 .*initial_customers \(3000\) exceeds",
    ),
    "a catalogue setting": (
        ("actions", "spend_levels", 0), {"uniform": [0.2, 0.5]},
        r"actions\.spend_levels\[0\]: this field cannot be a distribution \(a setting",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_validation_errors_name_the_file_the_field_and_the_value(case: str, tmp_path: Path):
    path, spec, message = BROKEN[case]
    data = copy.deepcopy(DEFAULT)
    _put(data, path, spec)
    file = tmp_path / "broken.yaml"
    file.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match=message) as raised:
        load_distribution(file)
    assert str(raised.value).startswith(str(file))
    with pytest.raises(ScenarioError):
        gym.make(ENV_ID, scenario=str(file))


def test_coupled_fields_are_checked_at_their_corners():
    data = copy.deepcopy(DEFAULT)
    data["channels"][2]["min_spend"] = {"uniform": [10.0, 60.0]}
    data["channels"][2]["max_spend"] = {"uniform": [50.0, 80.0]}
    # each end alone is valid with the other field at its mean; one corner is not
    with pytest.raises(ScenarioError, match=r"min_spend at 60 .* with .*max_spend at 50"):
        load_distribution(data)
    data["channels"][2]["min_spend"] = {"uniform": [10.0, 50.0]}
    assert load_distribution(data).uncertain


def test_one_scenario_callers_refuse_a_distribution_and_say_why():
    with pytest.raises(ScenarioError, match=r"segments\[0\]\.churn: a distribution"):
        gtmgym.load_scenario(uncertain_default())
    with pytest.raises(ScenarioError, match=r"observe_parameters: a distribution"):
        gtmgym.load_scenario(dict(DEFAULT, observe_parameters=True))


def test_the_command_line_describes_and_validates_distributions(tmp_path: Path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(uncertain_default()))
    broken = uncertain_default()
    broken["segments"][0]["churn"] = {"uniform": [0.5, 1.5]}
    bad.write_text(yaml.safe_dump(broken))
    assert main(["describe", str(good)]) == 0
    described = capsys.readouterr().out
    assert "uncertain parameters" in described
    assert "segments[0].churn                        uniform [0.02, 0.04], mean 0.03" in described
    assert main(["validate", str(good), str(bad)]) == 2
    checked = capsys.readouterr()
    assert "6 uncertain parameters" in checked.out
    assert f"{bad}: segments[0].churn: uniform [0.5, 1.5] reaches 1.5" in checked.err


def _numeric_leaves(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _numeric_leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _numeric_leaves(value, (*path, index))
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield path, float(data)


def _put(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def test_path_text_matches_the_error_messages():
    assert path_text(("channels", 2, "effectiveness", 0)) == "channels[2].effectiveness[0]"


@pytest.mark.parametrize("name", gtmgym.envs.loader.bundled_distributions())
def test_every_bundled_distribution_is_a_valid_environment(name: str, capsys):
    distribution = load_distribution(name)
    assert distribution.uncertain
    assert main(["validate", name]) == 0
    assert f"{len(distribution.fields)} uncertain parameters" in capsys.readouterr().out
    env = gym.make(ENV_ID, scenario=name)
    check_env(env.unwrapped, skip_render_check=True)
    first = env.reset(seed=0)[1]["parameters"]
    assert env.reset(seed=1)[1]["parameters"] != first
    assert env.unwrapped.market_scenario() != distribution.mean()

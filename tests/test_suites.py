"""Suites of scenarios: runs of every scenario x agent x seed, the aggregate
across scenarios (IQM of normalised scores, performance profiles,
probability of improvement, after Agarwal et al. 2021) and its estimators
against hand-computed values, resume and config.yaml, and bad suite files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_experiments import FAST_PLANNER, gtmgym_cli
from test_run_config import CHEAP_AGENTS, assert_config_reruns, write_experiment

from gtmgym.envs.loader import bundled_scenarios
from gtmgym.experiments.aggregate import aggregate
from gtmgym.experiments.config import ExperimentError, load_experiment
from gtmgym.experiments.runner import resolved_config, run_experiment
from gtmgym.experiments.statistics import (
    bootstrap_interval,
    fraction_above,
    improvement_interval,
    iqm,
    mean,
    performance_profile,
    probability_of_improvement,
)
from gtmgym.experiments.store import OutputError, RunStore
from gtmgym.experiments.summary import summarise


def write_suite(folder: Path, **fields) -> Path:
    """A suite of two short scenarios, the planner and three heuristics."""
    suite = {
        "name": "tiny-suite",
        "scenario": None,
        "scenarios": ["default", "tabular"],
        "scenario_overrides": {"periods": 4},
        "agents": [
            {"agent": "planner", "hyperparameters": FAST_PLANNER},
            {"agent": "greedy"},
            {"agent": "equal"},
            {"agent": "random"},
        ],
        "eval_episodes": 1,
    }
    return write_experiment(folder, **(suite | fields))


# --- the whole thing, through the command line -------------------------------


def test_a_suite_runs_every_scenario_agent_and_seed_and_reports_the_aggregate(tmp_path):
    out = tmp_path / "out"
    arguments = ["run", str(write_suite(tmp_path)), "--out", str(out), "--no-progress"]
    result = gtmgym_cli(*arguments, "--jobs", "2")
    assert result.returncode == 0, result.stderr

    runs = sorted(p.name for p in (out / "units").iterdir())
    assert runs == sorted(
        f"{scenario}__{agent}__{seed}"
        for scenario in ("default", "tabular")
        for agent in ("planner", "greedy", "equal", "random")
        for seed in (0, 1)
    )
    report = (out / "report.md").read_text()
    sections = [
        report.index("## Scenario `default`"),
        report.index("## Scenario `tabular`"),
        report.index("## Across scenarios"),
        report.index("### Aggregate normalised scores"),
        report.index("### Performance profiles"),
        report.index("### Probability of improvement"),
    ]
    assert sections == sorted(sections)  # per-scenario tables first, the aggregate after
    assert "Agarwal et al. 2021" in report and "strata are scenarios" in report
    for png in ("performance_profiles.png", "aggregate_scores.png", "final_scores__tabular.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert f"]({png})" in report

    table = pd.read_csv(out / "aggregate.csv").set_index("agent")
    assert table.loc["planner", "mean_normalised"] == pytest.approx(1.0)
    assert (table["n_scenarios"] == 2).all() and (table["n_runs"] == 4).all()
    assert (table["ci_low"] <= table["iqm_normalised"]).all()
    assert (table["iqm_normalised"] <= table["ci_high"]).all()
    # with as many runs on each scenario, the pooled mean is the mean of the
    # per-scenario normalised scores of the summary
    summary = pd.read_csv(out / "summary.csv")
    per_scenario = summary.groupby("agent")["normalised_score"].mean()
    assert table["mean_normalised"].to_dict() == pytest.approx(per_scenario.to_dict())
    assert table.loc["random", "mean_normalised"] == pytest.approx(0.0, abs=1e-12)
    improvement = pd.read_csv(out / "improvement.csv")
    assert len(improvement) == 4 * 3 / 2  # every pair once
    assert (improvement["ci_low"] <= improvement["probability"]).all()
    profiles = pd.read_csv(out / "profiles.csv")
    assert set(profiles["agent"]) == set(table.index)
    assert "across scenarios" in result.stdout and "tabular" in result.stdout


def test_config_yaml_of_a_suite_reruns_the_same_episodes(tmp_path):
    agents = [*CHEAP_AGENTS, {"agent": "qlearning", "label": "q"}]
    suite = write_suite(tmp_path / "files", agents=agents, train_steps=40, checkpoints=1)
    first = tmp_path / "first"
    run_experiment(load_experiment(suite), first, jobs=1)
    config = yaml.safe_load((first / "config.yaml").read_text())
    assert "scenario" not in config  # one form only
    assert [entry["scenario"]["periods"] for entry in config["scenarios"]] == [4, 4]
    assert config["provenance"]["scenarios"] == ["default", "tabular"]
    # each scenario records the settings its agents ran with (tuned defaults per scenario)
    bins = [
        entry["agents"]["q"]["hyperparameters"]["feature_bins"] for entry in config["scenarios"]
    ]
    assert bins[0] != bins[1]
    assert config["scenarios"][0]["agents"]["equal"]["action_mode"] == "discrete"

    second = tmp_path / "second"
    assert_config_reruns(first, second)
    assert yaml.safe_load((second / "config.yaml").read_text())["scenarios"] == config["scenarios"]


def test_resume_of_a_suite_names_the_scenario_that_changed(tmp_path):
    out = tmp_path / "out"
    same = write_suite(tmp_path, agents=CHEAP_AGENTS)
    run_experiment(load_experiment(same), out, jobs=1)
    before = {run: (out / "units" / run).stat().st_mtime_ns for run in RunStore(out).finished()}
    run_experiment(load_experiment(same), out, jobs=1)  # everything done: nothing rerun
    assert {run: (out / "units" / run).stat().st_mtime_ns for run in before} == before
    assert len(before) == 2 * len(CHEAP_AGENTS) * 2  # scenarios x agents x seeds
    changed = write_suite(
        tmp_path,
        agents=CHEAP_AGENTS,
        scenarios=[
            "default",
            {"scenario": "tabular", "agents": {"equal": {"action_mode": "continuous"}}},
        ],
    )
    with pytest.raises(OutputError) as refusal:
        run_experiment(load_experiment(changed), out, jobs=1)
    assert "scenario tabular agents.equal.action_mode: 'discrete' -> 'continuous'" in str(
        refusal.value
    )
    assert "scenario default" not in str(refusal.value)
    fewer = write_suite(tmp_path, agents=CHEAP_AGENTS, scenarios=["tabular"])
    with pytest.raises(OutputError, match="scenario default: only in the folder"):
        run_experiment(load_experiment(fewer), out, jobs=1)


def test_the_single_scenario_form_writes_no_suite_fields(tmp_path):
    suite = write_suite(tmp_path, agents=CHEAP_AGENTS)
    single = yaml.safe_load(suite.read_text())
    single.pop("scenarios")
    single["scenario"] = "tabular"
    path = tmp_path / "single.yaml"
    path.write_text(yaml.safe_dump(single))
    config = resolved_config(load_experiment(path))
    assert "scenarios" not in config and config["scenario"]["name"] == "tabular"
    assert config["provenance"]["scenario"] == "tabular"
    assert load_experiment(path).model_dump()["scenario"] == "tabular"


def test_scenario_option_runs_a_suites_agents_on_one_scenario(tmp_path):
    experiment = load_experiment(write_suite(tmp_path), {"scenario": "tabular"})
    assert not experiment.is_suite
    assert experiment.resolved_scenario().name == "tabular"
    assert [scenario.name for scenario, _ in experiment.per_scenario()] == ["tabular"]


def test_the_bundled_suite_lists_every_bundled_scenario():
    experiment = load_experiment("suite")
    assert experiment.is_suite
    assert sorted(s.name for s in experiment.resolved_scenarios()) == bundled_scenarios()
    assert {"planner", "random"} <= {entry.name for entry in experiment.agents}


# --- bad suite files ---------------------------------------------------------


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"scenario": "default"}, "scenario and scenarios: give one of them"),
        ({"scenarios": []}, "scenarios: List should have at least 1 item"),
        ({"scenarios": ["default", "no-such-market"]}, "field scenarios[1]: 'no-such-market'"),
        (
            {"scenarios": ["default", "tabular", "default"]},
            "scenarios[0] and scenarios[2] are both scenario 'default'",
        ),
        (
            {"scenarios": [{"scenario": "tabular", "agents": {"nobody": {}}}]},
            "scenarios[0].agents: 'nobody' not among the experiment's agents",
        ),
        (
            {
                "scenarios": [
                    {"scenario": "tabular", "agents": {"equal": {"action_mode": "psychic"}}}
                ]
            },
            "scenarios[0].agents.equal.action_mode",
        ),
    ],
)
def test_a_bad_suite_is_an_error_naming_the_file_and_field(tmp_path, fields, expected):
    path = write_suite(tmp_path, agents=CHEAP_AGENTS, **fields)
    with pytest.raises(ExperimentError) as refusal:
        load_experiment(path)
    assert expected in str(refusal.value) and str(path) in str(refusal.value)


def test_a_bad_suite_stops_the_command_line_with_exit_2_and_no_traceback(tmp_path):
    path = write_suite(tmp_path, agents=CHEAP_AGENTS, scenario="tabular")
    result = gtmgym_cli("run", str(path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "scenario and scenarios: give one of them" in result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_suites_scenario_paths_are_read_from_the_files_folder(tmp_path, monkeypatch):
    folder = tmp_path / "experiments"
    (folder / "markets").mkdir(parents=True)
    text = (Path(__file__).parent.parent / "gtmgym/scenarios/tabular.yaml").read_text()
    (folder / "markets" / "mine.yaml").write_text(text.replace("name: tabular", "name: mine", 1))
    path = write_suite(folder, agents=CHEAP_AGENTS, scenarios=["default", "markets/mine.yaml"])
    monkeypatch.chdir(tmp_path)
    experiment = load_experiment(path)
    assert [s.name for s in experiment.resolved_scenarios()] == ["default", "mine"]
    with pytest.raises(ExperimentError, match=r"scenarios\[1\]: 'markets/none.yaml'"):
        load_experiment(write_suite(folder, scenarios=["default", "markets/none.yaml"]))


# --- the aggregate on hand-made runs -----------------------------------------


def hand_made_episodes(runs: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """One evaluation episode per run: scenario -> agent -> a return per seed."""
    rows = [
        {
            "scenario": scenario,
            "agent": agent,
            "seed": seed,
            "episode": 0,
            "env_seed": 1000 * seed,
            "return": value,
            "profit": value,
            "market_share": 0.0,
        }
        for scenario, agents in runs.items()
        for agent, values in agents.items()
        for seed, value in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_aggregate_normalises_each_run_on_its_scenario_then_pools_them():
    episodes = hand_made_episodes(
        {
            "a": {"planner": [10.0, 10.0], "random": [0.0, 0.0], "mine": [5.0, 7.0]},
            "b": {"planner": [2.0, 2.0], "random": [1.0, 1.0], "mine": [1.5, 2.0]},
        }
    )
    suite = aggregate(episodes, summarise(episodes), {})
    mine = suite.scores[suite.scores["agent"] == "mine"]["normalised"]
    assert sorted(mine) == pytest.approx([0.5, 0.5, 0.7, 1.0])
    row = suite.table.set_index("agent").loc["mine"]
    assert row["iqm_normalised"] == pytest.approx((0.5 + 0.7) / 2)  # the middle two of four
    assert row["mean_normalised"] == pytest.approx(0.675)
    pairs = suite.improvement.set_index(["agent_x", "agent_y"])["probability"]
    # on a, 1; on b, planner [1, 1] against mine [0.5, 1]: two wins and two ties of 4 pairs
    assert pairs["planner", "mine"] == pytest.approx((1.0 + (2 + 2 * 0.5) / 4) / 2)
    assert pairs["mine", "random"] == pytest.approx(1.0)
    assert suite.left_out == []


def test_aggregate_leaves_out_a_scenario_without_a_yardstick_and_says_so():
    episodes = hand_made_episodes(
        {
            "a": {"planner": [10.0, 10.0], "random": [0.0, 0.0], "mine": [5.0, 7.0]},
            "b": {"random": [1.0, 1.0], "mine": [1.5, 2.0]},
        }
    )
    suite = aggregate(episodes, summarise(episodes), {})
    assert set(suite.scores["scenario"]) == {"a"}
    assert suite.left_out == ["`b` (the planner did not run on it)"]


def test_aggregate_of_a_suite_still_running_compares_only_agents_that_met():
    # as `gtmgym report` finds a folder mid-run: "late" has runs on b only
    episodes = hand_made_episodes(
        {
            "a": {"planner": [10.0, 10.0], "random": [0.0, 0.0], "mine": [5.0, 7.0]},
            "b": {"planner": [2.0, 2.0], "random": [1.0, 1.0], "late": [1.5]},
        }
    )
    suite = aggregate(episodes, summarise(episodes), {})
    assert suite.table.set_index("agent").loc["late", "n_runs"] == 1
    pairs = set(zip(suite.improvement["agent_x"], suite.improvement["agent_y"], strict=True))
    assert not {("mine", "late"), ("late", "mine")} & pairs
    assert suite.improvement["n_scenarios"].min() == 1


# --- the estimators on hand-made scores (Agarwal et al. 2021) ----------------


def test_iqm_over_strata_pools_the_runs():
    strata = [np.array([0.0, 1.0, 2.0, 3.0]), np.array([10.0, 11.0, 12.0, 13.0])]
    assert iqm(np.concatenate(strata)) == pytest.approx((2 + 3 + 10 + 11) / 4)
    assert iqm(np.array([4.0, 1.0, 100.0, 2.0, 3.0, -50.0, 3.5, 2.5])) == pytest.approx(2.75)


def test_stratified_bootstrap_covers_the_true_mean_about_as_often_as_it_claims():
    # two scenarios far apart: the pooled mean's sampling spread comes from
    # within each scenario only, which a stratified bootstrap keeps
    rng = np.random.default_rng(7)
    truth, covered, trials = (0.0 + 10.0) / 2, 0, 200
    widths_stratified, widths_pooled = [], []
    for trial in range(trials):
        strata = [rng.normal(0.0, 1.0, 10), rng.normal(10.0, 1.0, 10)]
        interval = bootstrap_interval(strata, mean, repetitions=400, seed=trial)
        covered += interval.low <= truth <= interval.high
        pooled = bootstrap_interval([np.concatenate(strata)], mean, repetitions=400, seed=trial)
        widths_stratified.append(interval.high - interval.low)
        widths_pooled.append(pooled.high - pooled.low)
    assert 0.88 <= covered / trials <= 0.99
    # resampling across strata mixes the scenarios' levels: several times wider
    assert np.mean(widths_pooled) > 3 * np.mean(widths_stratified)


def test_probability_of_improvement_is_one_half_between_identical_agents():
    rng = np.random.default_rng(0)
    strata = [rng.normal(size=5), rng.normal(size=7), np.array([1.0, 1.0, 1.0])]
    assert probability_of_improvement(strata, strata) == pytest.approx(0.5)
    interval = improvement_interval(strata, strata, repetitions=500)
    assert interval.estimate == pytest.approx(0.5)
    assert interval.low < 0.5 < interval.high


def test_probability_of_improvement_is_one_for_a_dominating_agent():
    low = [np.array([0.0, 0.1, 0.2]), np.array([5.0, 6.0])]
    high = [np.array([1.0, 1.1]), np.array([7.0, 8.0, 9.0])]
    assert probability_of_improvement(high, low) == 1.0
    assert probability_of_improvement(low, high) == 0.0
    interval = improvement_interval(high, low, repetitions=300)
    assert (interval.estimate, interval.low, interval.high) == (1.0, 1.0, 1.0)


def test_probability_of_improvement_counts_ties_as_half_and_averages_over_strata():
    # stratum 1: x in {1, 3} against y = 2 -> (0 + 1) / 2; stratum 2: 2 vs 2 -> 1/2
    assert probability_of_improvement(
        [np.array([1.0, 3.0]), np.array([2.0])], [np.array([2.0]), np.array([2.0])]
    ) == pytest.approx((0.5 + 0.5) / 2)
    # stratum 1 won outright, stratum 2 lost outright: 1/2, whatever the run counts
    assert probability_of_improvement(
        [np.array([5.0]), np.array([0.0, 0.0, 0.0])], [np.array([1.0, 2.0]), np.array([9.0])]
    ) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="strata"):
        probability_of_improvement([np.array([1.0])], [np.array([1.0]), np.array([2.0])])


def test_performance_profile_is_the_fraction_of_runs_strictly_above_tau():
    thresholds = np.array([-1.0, 0.0, 0.25, 0.5, 0.75, 1.0])
    scores = np.array([0.0, 0.5, 1.0])
    assert fraction_above(scores, thresholds).tolist() == pytest.approx(
        [1.0, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0.0]
    )
    profile = performance_profile([scores[:1], scores[1:]], thresholds, repetitions=500)
    assert profile.estimate.tolist() == pytest.approx(fraction_above(scores, thresholds).tolist())
    assert (profile.low <= profile.estimate).all() and (profile.estimate <= profile.high).all()
    # a stratum of one run is the same run in every replicate; below the lowest
    # score and at the highest, every replicate agrees
    assert (profile.low[[0, -1]] == profile.high[[0, -1]]).all()

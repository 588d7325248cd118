"""Experiment files: which agents, on which scenario, over how many seeds.

Validated like scenarios (unknown keys, unknown agents and impossible budgets
are errors naming the field). Bundled experiments live in
``gtmgym/experiments/bundled/``; ``gtmgym run`` with no argument runs
``default``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gtmgym.envs.loader import ScenarioError, bundled_scenarios, load_scenario
from gtmgym.envs.scenario import ActionMode, Scenario

EXPERIMENT_PACKAGE = "gtmgym.experiments.bundled"


class ExperimentError(ValueError):
    """An experiment that cannot be run: the message says where and why."""


class AgentEntry(BaseModel):
    """One agent of the comparison, with its hyperparameters."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    agent: Annotated[str, Field(min_length=1)]
    label: str | None = None
    action_mode: ActionMode | None = None
    hyperparameters: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """The label runs and tables use (the agent's name unless given)."""
        return self.label or self.agent


class Experiment(BaseModel):
    """A comparison of agents on one scenario over several seeds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    scenario: str = "default"
    scenario_overrides: dict[str, Any] = {}
    agents: Annotated[list[AgentEntry], Field(min_length=1)]
    seeds: Annotated[int, Field(ge=1, le=10_000)] = 10
    train_steps: Annotated[int, Field(ge=0)] = 10_000
    eval_episodes: Annotated[int, Field(ge=1)] = 10
    checkpoints: Annotated[int, Field(ge=1)] = 5
    eval_seed: Annotated[int, Field(ge=0)] = 1_000_000

    @model_validator(mode="after")
    def _agents_known_and_budgets_possible(self) -> Experiment:
        from gtmgym.agents.registry import names

        known = names()
        for index, entry in enumerate(self.agents):
            if entry.agent not in known:
                raise ValueError(
                    f"agents[{index}].agent: unknown agent {entry.agent!r}; "
                    f"known agents: {', '.join(known)}"
                )
        labels = [entry.name for entry in self.agents]
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise ValueError(
                f"agents: labels must be unique, {duplicates} appear twice "
                "(give each entry its own `label`)"
            )
        if self.train_steps and self.checkpoints > self.train_steps:
            raise ValueError(
                f"checkpoints ({self.checkpoints}) exceeds train_steps ({self.train_steps})"
            )
        return self

    def resolved_scenario(self) -> Scenario:
        """The scenario with its overrides applied and validated."""
        return load_scenario(self.scenario, self.scenario_overrides)


def bundled_experiments() -> list[str]:
    """Names of the experiments shipped with the package."""
    folder = resources.files(EXPERIMENT_PACKAGE)
    return sorted(
        e.name.removesuffix(".yaml") for e in folder.iterdir() if e.name.endswith(".yaml")
    )


def load_experiment(source: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """An experiment from a bundled name or a YAML path, or a scenario run
    with the default experiment's agents.

    Args:
        source: a bundled experiment name, an experiment YAML path, or a
            bundled scenario name / scenario YAML path (then every agent of
            the default experiment is compared on that scenario).
        overrides: top-level fields to replace (e.g. from the command line).

    Raises:
        ExperimentError: the file is missing or invalid, or the scenario is.
    """
    text = str(source)
    if text in bundled_experiments():
        path = Path(str(resources.files(EXPERIMENT_PACKAGE).joinpath(f"{text}.yaml")))
        data, origin = _read(path), str(path)
    elif text in bundled_scenarios() or _is_scenario_file(Path(text)):
        default = Path(str(resources.files(EXPERIMENT_PACKAGE).joinpath("default.yaml")))
        data = _read(default)
        data.update(
            name=Path(text).stem,
            description=f"The default experiment's agents on scenario {text}.",
            scenario=_scenario_source(text, Path.cwd(), "scenario"),
            scenario_overrides={},
        )
        origin = f"default experiment on scenario {text}"
    else:
        path = Path(text)
        if not path.is_file():
            raise ExperimentError(
                f"{text}: no such experiment file, bundled experiment "
                f"({', '.join(bundled_experiments())}) or bundled scenario "
                f"({', '.join(bundled_scenarios())})"
            )
        data, origin = _read(path), str(path)
        if isinstance(data.get("scenario"), str):
            data["scenario"] = _scenario_source(
                data["scenario"], path.parent, f"{path}: field scenario"
            )
    if overrides:
        given = {key: value for key, value in overrides.items() if value is not None}
        if isinstance(given.get("scenario"), str):
            written = given["scenario"]
            given["scenario"] = _scenario_source(written, Path.cwd(), "scenario")
            if given["scenario"] != data.get("scenario"):
                # the experiment's own description names the scenario it was written for
                given.setdefault(
                    "description",
                    f"The agents of experiment {data.get('name')!r} on scenario {written}.",
                )
        data.update(given)
    return validate_experiment(data, origin)


def validate_experiment(data: Any, origin: str) -> Experiment:
    """Validate parsed data (and its scenario); ``origin`` names it in errors."""
    if not isinstance(data, dict):
        raise ExperimentError(
            f"{origin}: an experiment must be a mapping, got {type(data).__name__}"
        )
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            message = problem["msg"].removeprefix("Value error, ")
            if problem["type"] == "extra_forbidden":
                message = "unknown field"
            shown = f" (got {problem.get('input')!r})" if where else ""
            lines.append(f"  - {where + ': ' if where else ''}{message}{shown}")
        raise ExperimentError(f"{origin}: invalid experiment\n" + "\n".join(lines)) from None
    try:
        scenario = experiment.resolved_scenario()
    except ScenarioError as error:
        raise ExperimentError(f"{origin}: field scenario: {error}") from None
    _check_agents_build(experiment, scenario, origin)
    return experiment


def _check_agents_build(experiment: Experiment, scenario: Scenario, origin: str) -> None:
    """Build each agent once, so bad hyperparameters fail now, not mid-run."""
    from gtmgym.agents.registry import make

    for index, entry in enumerate(experiment.agents):
        try:
            agent = make(
                entry.agent, scenario, action_mode=entry.action_mode, **entry.hyperparameters
            )
            if agent.learns and experiment.train_steps > 0:
                agent.check_budget(experiment.train_steps)
        except ValueError as error:
            raise ExperimentError(f"{origin}: agents[{index}] ({entry.name}): {error}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ExperimentError(f"{path}: cannot read the file: {error}") from None
    except yaml.YAMLError as error:
        raise ExperimentError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}: an experiment must be a mapping of fields")
    return data


def _scenario_source(value: str, folder: Path, where: str) -> str:
    """A bundled scenario name as it is, a scenario path made absolute.

    Args:
        value: the scenario as written.
        folder: what a relative path is relative to (an experiment file's
            folder, so the file can be run from anywhere).
        where: names the value in the error.

    Raises:
        ExperimentError: not a bundled name and no such file.
    """
    if value in bundled_scenarios():
        return value
    path = (folder / Path(value).expanduser()).resolve()
    if not path.is_file():
        raise ExperimentError(
            f"{where}: {value!r} is not a bundled scenario "
            f"({', '.join(bundled_scenarios())}) and there is no file {path} "
            f"(a relative path is read from {folder})"
        )
    return str(path)


def _is_scenario_file(path: Path) -> bool:
    """A YAML file with scenario fields (segments) rather than agents."""
    if not path.is_file():
        return False
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "segments" in data and "agents" not in data

"""Experiment files: which agents, on which scenario (or suite of scenarios),
over how many seeds.

Validated like scenarios (unknown keys, unknown agents and impossible budgets
are errors naming the field). Bundled experiments live in
``gtmgym/experiments/bundled/``; ``gtmgym run`` with no argument runs
``default``. An experiment names one ``scenario``, a suite of
``scenarios`` (docs/suites.md), or a ``train_scenario`` (a scenario or a
distribution, docs/uncertainty.md) with ``eval_scenarios`` to evaluate the
trained agents on besides it: one form only.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from gtmgym.envs.distribution import ScenarioDistribution, load_distribution
from gtmgym.envs.loader import (
    ScenarioError,
    YamlFileError,
    bundled_distributions,
    bundled_scenarios,
    load_scenario,
    read_yaml,
    validation_problems,
)
from gtmgym.envs.scenario import ActionMode, Scenario

EXPERIMENT_PACKAGE = "gtmgym.experiments.bundled"
# the evaluation of a generalisation experiment on its train scenario itself
# (held-out episodes); a label no entry of eval_scenarios may take
IN_DISTRIBUTION = "in-distribution"
LABEL = r"^[A-Za-z0-9_.-]+$"


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


class AgentSettings(BaseModel):
    """What one agent is built with on one scenario of a suite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    action_mode: ActionMode | None = None
    hyperparameters: dict[str, Any] = {}


class SuiteScenario(BaseModel):
    """One scenario of a suite, and its agents' settings there.

    The settings of an agent (by label) apply on top of its entry in
    ``agents``: ``action_mode`` replaces the entry's, ``hyperparameters`` are
    merged over the entry's. A run's ``config.yaml`` records every agent's
    complete settings on every scenario here, tuned defaults included.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    scenario: str | dict[str, Any]
    agents: dict[str, AgentSettings] = {}


class EvalScenario(BaseModel):
    """What a generalisation experiment evaluates its agents on besides the
    train scenario: a scenario or distribution, or its point estimate."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    scenario: str | dict[str, Any]
    # play the distribution's mean scenario (the point estimate), not its draws
    point_estimate: bool = False


class Experiment(BaseModel):
    """A comparison of agents on one scenario, or a suite of them, over seeds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1, pattern=LABEL)]
    description: str = ""
    # a bundled name, a path, or the scenario's fields inline (as the
    # config.yaml of a run has them, so it reruns without the original file);
    # "default" when neither it nor `scenarios` is given
    scenario: str | dict[str, Any] | None = None
    # a suite: bundled names or paths, or {scenario: ..., agents: {...}}
    scenarios: Annotated[list[SuiteScenario], Field(min_length=1)] | None = None
    # a generalisation experiment: agents learn on `train_scenario` and are
    # evaluated on it (held-out episodes, "in-distribution") and on each of
    # `eval_scenarios` (label -> a name or path, or {scenario, point_estimate})
    train_scenario: str | dict[str, Any] | None = None
    eval_scenarios: dict[Annotated[str, Field(pattern=LABEL)], EvalScenario] | None = None
    # applied to every scenario of a suite (and of a generalisation experiment)
    scenario_overrides: dict[str, Any] = {}
    agents: Annotated[list[AgentEntry], Field(min_length=1)]
    seeds: Annotated[int, Field(ge=1, le=10_000)] = 10
    train_steps: Annotated[int, Field(ge=0)] = 10_000
    eval_episodes: Annotated[int, Field(ge=1)] = 10
    checkpoints: Annotated[int, Field(ge=1)] = 5
    eval_seed: Annotated[int, Field(ge=0)] = 1_000_000
    # where a run's config.yaml came from (package versions, git commit, the
    # scenario as given); recorded by `gtmgym run`, never read when running
    provenance: dict[str, Any] = {}
    # what loading changed so the defaults fit this scenario and budget (an
    # agent's action mode, a tuned setting scaled down), one line each
    notes: list[str] = []

    @field_validator("scenarios", mode="before")
    @classmethod
    def _names_are_entries(cls, value: Any) -> Any:
        """A name or path in ``scenarios`` is the entry ``{scenario: name}``."""
        if isinstance(value, list):
            return [{"scenario": e} if isinstance(e, str) else e for e in value]
        return value

    @field_validator("eval_scenarios", mode="before")
    @classmethod
    def _eval_names_are_entries(cls, value: Any) -> Any:
        """A name or path in ``eval_scenarios`` is the entry ``{scenario: name}``."""
        if isinstance(value, dict):
            return {k: {"scenario": e} if isinstance(e, str) else e for k, e in value.items()}
        return value

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

    @model_validator(mode="after")
    def _one_scenario_or_a_suite(self) -> Experiment:
        if self.train_scenario is not None or self.eval_scenarios is not None:
            return self._a_generalisation()
        if self.scenarios is None:
            if self.scenario is None:
                self.scenario = "default"
            return self
        if self.scenario is not None:
            raise ValueError(
                "scenario and scenarios: give one of them, `scenario` for one scenario or "
                f"`scenarios` for a suite (got scenario {_label(self.scenario)!r} and "
                f"scenarios {[_label(source) for source in self.scenario_sources]})"
            )
        labels = [entry.name for entry in self.agents]
        for position, entry in enumerate(self.scenarios):
            unknown = sorted(set(entry.agents) - set(labels))
            if unknown:
                raise ValueError(
                    f"scenarios[{position}].agents: {', '.join(map(repr, unknown))} "
                    f"not among the experiment's agents ({', '.join(labels)})"
                )
        return self

    def _a_generalisation(self) -> Experiment:
        if self.train_scenario is None:
            raise ValueError(
                "eval_scenarios: evaluates agents trained on `train_scenario`, which is missing"
            )
        given = [key for key in ("scenario", "scenarios") if getattr(self, key) is not None]
        if given:
            raise ValueError(
                f"train_scenario and {' and '.join(given)}: give one form, `train_scenario` "
                "(with `eval_scenarios`) for a generalisation experiment, `scenario` for one "
                "scenario or `scenarios` for a suite"
            )
        if IN_DISTRIBUTION in (self.eval_scenarios or {}):
            raise ValueError(
                f"eval_scenarios.{IN_DISTRIBUTION}: a reserved label, the evaluation on "
                "train_scenario itself (held-out episodes), which every generalisation "
                "experiment has; give the entry another label"
            )
        return self

    @model_serializer(mode="wrap")
    def _without_the_unused_form(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Leave out the forms not used: ``scenarios`` and the generalisation
        fields of a single-scenario experiment (its config.yaml is as before
        suites), ``scenario`` of a suite, both of a generalisation."""
        data = handler(self)
        if self.is_generalisation:
            unused: tuple[str, ...] = ("scenario", "scenarios")
        else:
            unused = (
                "train_scenario",
                "eval_scenarios",
                "scenario" if self.is_suite else "scenarios",
            )
        for key in unused:
            data.pop(key, None)
        return data

    @property
    def is_generalisation(self) -> bool:
        """Whether the experiment trains on ``train_scenario`` and evaluates
        on it and on ``eval_scenarios``."""
        return self.train_scenario is not None

    def evaluation_entries(self) -> dict[str, EvalScenario]:
        """What a generalisation experiment evaluates on, by label, as given:
        the train scenario (:data:`IN_DISTRIBUTION`) first, then ``eval_scenarios``."""
        if self.train_scenario is None:
            raise ValueError(f"experiment {self.name!r} has no train_scenario")
        train = EvalScenario(scenario=self.train_scenario)
        return {IN_DISTRIBUTION: train} | dict(self.eval_scenarios or {})

    def evaluation_distribution(self, entry: EvalScenario) -> ScenarioDistribution:
        """``entry`` loaded, overrides applied (a fixed scenario is a
        distribution in which nothing varies; a point estimate is one)."""
        distribution = load_distribution(entry.scenario, self.scenario_overrides or None)
        return load_distribution(distribution.mean()) if entry.point_estimate else distribution

    def evaluation_distributions(self) -> dict[str, ScenarioDistribution]:
        """:meth:`evaluation_entries`, loaded."""
        return {
            label: self.evaluation_distribution(entry)
            for label, entry in self.evaluation_entries().items()
        }

    def training_distribution(self) -> ScenarioDistribution:
        """The train scenario of a generalisation experiment, overrides applied."""
        return self.evaluation_distribution(self.evaluation_entries()[IN_DISTRIBUTION])

    @property
    def is_suite(self) -> bool:
        """Whether the experiment lists ``scenarios`` (a suite)."""
        return self.scenarios is not None

    @property
    def scenario_sources(self) -> list[str | dict[str, Any]]:
        """Each scenario as given: bundled name, path or inline fields (of a
        generalisation experiment: the train scenario)."""
        if self.train_scenario is not None:
            return [self.train_scenario]
        if self.scenarios is None:
            return [self.scenario or "default"]
        return [entry.scenario for entry in self.scenarios]

    def resolved_scenarios(self) -> list[Scenario]:
        """Every scenario, with the overrides applied and validated."""
        return [load_scenario(s, self.scenario_overrides) for s in self.scenario_sources]

    def resolved_scenario(self) -> Scenario:
        """The scenario of a single-scenario experiment, overrides applied."""
        if self.is_suite:
            raise ValueError(f"experiment {self.name!r} is a suite: use resolved_scenarios()")
        return self.resolved_scenarios()[0]

    def per_scenario(self) -> list[tuple[Scenario, list[AgentEntry]]]:
        """Each scenario with the agent entries as they are built on it (the
        suite's settings for the scenario applied over the entries)."""
        settings = [entry.agents for entry in self.scenarios] if self.scenarios else [{}]
        return [
            (scenario, [_with_settings(entry, chosen.get(entry.name)) for entry in self.agents])
            for scenario, chosen in zip(self.resolved_scenarios(), settings, strict=True)
        ]

    @property
    def scenario_label(self) -> str:
        """The scenario(s) as people name them: bundled name, path, or inline name."""
        if self.train_scenario is not None:
            evaluated = ", ".join([IN_DISTRIBUTION, *(self.eval_scenarios or {})])
            return f"{_label(self.train_scenario)} (evaluated on {evaluated})"
        labels = [_label(source) for source in self.scenario_sources]
        if not self.is_suite:
            return labels[0]
        return f"{len(labels)} scenarios ({', '.join(labels)})"


def inline_source(distribution: ScenarioDistribution) -> dict[str, Any]:
    """A scenario or distribution as a resolved config.yaml holds it: a
    fixed scenario's every field, a distribution's fields as written."""
    if distribution.uncertain and distribution.source is not None:
        return distribution.source
    return distribution.mean().model_dump(mode="json")


def _label(source: str | dict[str, Any]) -> str:
    if isinstance(source, str):
        return source
    return f"{source.get('name', '?')} (inline)"


def _with_settings(entry: AgentEntry, settings: AgentSettings | None) -> AgentEntry:
    if settings is None:
        return entry
    return entry.model_copy(
        update={
            "action_mode": settings.action_mode or entry.action_mode,
            "hyperparameters": entry.hyperparameters | settings.hyperparameters,
        }
    )


def bundled_experiments() -> list[str]:
    """Names of the experiments shipped with the package."""
    folder = resources.files(EXPERIMENT_PACKAGE)
    return sorted(
        e.name.removesuffix(".yaml") for e in folder.iterdir() if e.name.endswith(".yaml")
    )


def load_experiment(
    source: str | Path,
    overrides: dict[str, Any] | None = None,
    agents: Sequence[str] | None = None,
) -> Experiment:
    """An experiment from a bundled name or a YAML path, or a scenario run
    with the default experiment's agents.

    Args:
        source: a bundled experiment name, an experiment YAML path, or a
            bundled scenario name / scenario YAML path (then every agent of
            the default experiment is compared on that scenario).
        overrides: top-level fields to replace (e.g. from the command line).
        agents: the labels of the agents to keep (``None``: all); only these
            are validated, so an agent left out cannot refuse the run.

    Raises:
        ExperimentError: the file is missing or invalid, or the scenario is.
    """
    text = str(source)
    if text in bundled_experiments():
        path = Path(str(resources.files(EXPERIMENT_PACKAGE).joinpath(f"{text}.yaml")))
        data, origin = _read(path), str(path)
    elif text in bundled_scenarios() + bundled_distributions() or _is_scenario_file(Path(text)):
        default = Path(str(resources.files(EXPERIMENT_PACKAGE).joinpath("default.yaml")))
        data = _read(default)
        data.update(
            name=Path(text).stem,
            description=f"The default experiment's agents on scenario {text}.",
            scenario=_scenario_source(text, Path.cwd(), "scenario"),
            scenario_overrides={},
        )
        if _is_distribution(data["scenario"]):  # learn on its draws, evaluate on held-out ones
            data["train_scenario"] = data.pop("scenario")
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
        _suite_sources(data, path)
        _generalisation_sources(data, path)
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
            # --scenario runs a suite's (or a generalisation's) agents on one scenario
            for key in ("scenarios", "train_scenario", "eval_scenarios"):
                data.pop(key, None)
        data.update(given)
    if agents is not None:
        data["agents"] = _selected(data, agents, origin)
        _drop_suite_settings(data, agents)
    return validate_experiment(data, origin)


def _suite_sources(data: dict[str, Any], path: Path) -> None:
    """Make the scenario paths of a suite file absolute, as ``scenario``'s."""
    entries = data.get("scenarios")
    if not isinstance(entries, list):
        return  # validation says what is wrong with it
    for position, entry in enumerate(entries):
        where = f"{path}: field scenarios[{position}]"
        if isinstance(entry, str):
            entries[position] = _scenario_source(entry, path.parent, where)
        elif isinstance(entry, dict) and isinstance(entry.get("scenario"), str):
            entry["scenario"] = _scenario_source(entry["scenario"], path.parent, where)


def _generalisation_sources(data: dict[str, Any], path: Path) -> None:
    """Make the scenario paths of a generalisation file absolute, as ``scenario``'s."""
    if isinstance(data.get("train_scenario"), str):
        where = f"{path}: field train_scenario"
        data["train_scenario"] = _scenario_source(data["train_scenario"], path.parent, where)
    entries = data.get("eval_scenarios")
    if not isinstance(entries, dict):
        return  # validation says what is wrong with it
    for label, entry in entries.items():
        where = f"{path}: field eval_scenarios.{label}"
        if isinstance(entry, str):
            entries[label] = _scenario_source(entry, path.parent, where)
        elif isinstance(entry, dict) and isinstance(entry.get("scenario"), str):
            entry["scenario"] = _scenario_source(entry["scenario"], path.parent, where)


def _drop_suite_settings(data: dict[str, Any], wanted: Sequence[str]) -> None:
    """Keep a suite's per-scenario settings of the ``wanted`` agents only."""
    for entry in data.get("scenarios") or []:
        if isinstance(entry, dict) and isinstance(entry.get("agents"), dict):
            entry["agents"] = {k: v for k, v in entry["agents"].items() if k in wanted}


def _selected(data: dict[str, Any], wanted: Sequence[str], origin: str) -> Any:
    """The entries of ``data["agents"]`` whose labels are in ``wanted``."""
    entries = data.get("agents")
    if not isinstance(entries, list):
        return entries  # validation says what is wrong with it
    labels = [
        entry.get("label") or entry.get("agent") if isinstance(entry, dict) else None
        for entry in entries
    ]
    unknown = [name for name in wanted if name not in labels]
    if unknown:
        raise ExperimentError(
            f"{origin}: agents to run {', '.join(unknown)} not in experiment "
            f"{data.get('name')!r} (it has: {', '.join(sorted(map(str, labels)))})"
        )
    return [entry for entry, label in zip(entries, labels, strict=True) if label in wanted]


def validate_experiment(data: Any, origin: str) -> Experiment:
    """Validate parsed data (and its scenario); ``origin`` names it in errors.

    Returns:
        The experiment, with the defaults fitted to its scenario and budget
        (see :func:`_fit_agents`) and a note in ``notes`` for each change.
    """
    if not isinstance(data, dict):
        raise ExperimentError(
            f"{origin}: an experiment must be a mapping, got {type(data).__name__}"
        )
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as error:
        problems = validation_problems(error, "README.md, Experiment files")
        raise ExperimentError(f"{origin}: invalid experiment\n{problems}") from None
    if experiment.is_generalisation:
        return _fit_agents(experiment, _checked_generalisation(experiment, origin), origin)
    scenarios = []
    for position, source in enumerate(experiment.scenario_sources):
        field = f"scenarios[{position}]" if experiment.is_suite else "scenario"
        try:
            scenarios.append(load_scenario(source, experiment.scenario_overrides))
        except ScenarioError as error:
            if _is_distribution(source, experiment.scenario_overrides):
                raise ExperimentError(
                    f"{origin}: field {field}: {_label(source)} is a scenario distribution; "
                    "an experiment learns on one as `train_scenario:` and evaluates on "
                    "`eval_scenarios:` (docs/uncertainty.md)"
                ) from None
            raise ExperimentError(f"{origin}: field {field}: {error}") from None
    names = [scenario.name for scenario in scenarios]
    for name in dict.fromkeys(names):
        positions = [f"scenarios[{i}]" for i, other in enumerate(names) if other == name]
        if len(positions) > 1:
            raise ExperimentError(
                f"{origin}: field scenarios: {' and '.join(positions)} are both scenario "
                f"{name!r} (runs are named scenario__agent__seed: list each scenario once)"
            )
    if not experiment.is_suite:
        return _fit_agents(experiment, scenarios[0], origin)
    return _fit_suite(experiment, origin)


def _checked_generalisation(experiment: Experiment, origin: str) -> Scenario:
    """Load the train and eval scenarios, check that the agents can act on
    each, and return the train scenario's mean (what the agents act in).

    Raises:
        ExperimentError: a scenario is invalid, or an eval scenario's
            observation or actions differ from the train scenario's (the
            agents are trained on those); the message names the field.
    """
    from gtmgym.envs.market_expansion import observed_feature_names

    fields, loaded = {}, {}
    for label, entry in experiment.evaluation_entries().items():
        fields[label] = "train_scenario" if label == IN_DISTRIBUTION else f"eval_scenarios.{label}"
        try:
            loaded[label] = experiment.evaluation_distribution(entry)
        except ScenarioError as error:
            raise ExperimentError(f"{origin}: field {fields[label]}: {error}") from None
    train = loaded[IN_DISTRIBUTION]
    features, actions = observed_feature_names(train), train.mean().actions
    for label, distribution in loaded.items():
        theirs = observed_feature_names(distribution)
        if theirs != features:
            raise ExperimentError(
                f"{origin}: field {fields[label]}: agents trained on {train.mean().name!r} "
                f"cannot be evaluated on {distribution.mean().name!r}: its observation "
                f"differs ({len(theirs)} features against {len(features)}; the same "
                "segments, channels and observed parameters are needed)"
            )
        if distribution.mean().actions != actions:
            raise ExperimentError(
                f"{origin}: field {fields[label]}: the actions settings of "
                f"{distribution.mean().name!r} differ from the train scenario's; the agents "
                "act in the train scenario's action space"
            )
    return train.mean()


def _fit_suite(experiment: Experiment, origin: str) -> Experiment:
    """:func:`_fit_agents` on each scenario of a suite; what it changes goes
    into the suite's settings for that scenario, each note names the scenario."""
    entries, notes = [], list(experiment.notes)
    for source, (scenario, agents) in zip(
        experiment.scenarios or [], experiment.per_scenario(), strict=True
    ):
        on_it = experiment.model_copy(update={"agents": agents, "scenarios": None, "notes": []})
        fitted = _fit_agents(on_it, scenario, f"{origin}: scenario {scenario.name}")
        settings = dict(source.agents)
        for given, changed in zip(agents, fitted.agents, strict=True):
            if changed != given:
                settings[given.name] = AgentSettings(
                    action_mode=changed.action_mode, hyperparameters=changed.hyperparameters
                )
        entries.append(source.model_copy(update={"agents": settings}))
        notes += [f"scenario {scenario.name}: {note}" for note in fitted.notes]
    return experiment.model_copy(update={"scenarios": entries, "notes": notes})


def _fit_agents(experiment: Experiment, scenario: Scenario, origin: str) -> Experiment:
    """Fit each agent's defaults to the scenario and budget, then build it once,
    so bad hyperparameters fail now, not mid-run.

    An agent given no action mode that cannot act in the scenario's gets its
    own, and a tuned setting too large for ``train_steps`` is scaled to it
    (:func:`gtmgym.agents.registry.fitted_to_budget`); both are written into
    the entry, so the resolved config records what ran. What the entry sets
    itself is never changed: if it cannot work, that is the error.
    """
    from gtmgym.agents import registry

    steps = experiment.train_steps
    entries, notes = [], list(experiment.notes)
    for index, entry in enumerate(experiment.agents):
        if entry.action_mode is None:
            mode = registry.default_action_mode(entry.agent, scenario)
            if mode != scenario.actions.mode:
                entry = entry.model_copy(update={"action_mode": mode})
                notes.append(
                    f"{entry.name}: acts in the {mode} mode (it has no "
                    f"{scenario.actions.mode} one, the scenario's)"
                )
        learns = registry.agent_class(entry.agent).learns and steps > 0
        fitted = (
            registry.fitted_to_budget(entry.agent, scenario.name, steps, entry.hyperparameters)
            if learns
            else {}
        )
        if fitted:
            tuned = registry.tuned_defaults(entry.agent, scenario.name)
            changes = ", ".join(f"{key} {tuned[key]} -> {value}" for key, value in fitted.items())
            notes.append(f"{entry.name}: {changes} (tuned default) to fit {steps} training steps")
            entry = entry.model_copy(update={"hyperparameters": entry.hyperparameters | fitted})
        try:
            agent = registry.make(
                entry.agent, scenario, action_mode=entry.action_mode, **entry.hyperparameters
            )
            if learns:
                agent.check_budget(steps)
        except ValueError as error:
            raise ExperimentError(f"{origin}: agents[{index}] ({entry.name}): {error}") from None
        entries.append(entry)
    return experiment.model_copy(update={"agents": entries, "notes": notes})


def _read(path: Path) -> dict[str, Any]:
    try:  # as scenario files are read, so a key given twice is refused
        data = read_yaml(path)
    except YamlFileError as error:
        raise ExperimentError(str(error)) from None
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
    if value in bundled_scenarios() or value in bundled_distributions():
        return value
    path = (folder / Path(value).expanduser()).resolve()
    if not path.is_file():
        raise ExperimentError(
            f"{where}: {value!r} is not a bundled scenario "
            f"({', '.join(bundled_scenarios() + bundled_distributions())}) "
            f"and there is no file {path} "
            f"(a relative path is read from {folder})"
        )
    return str(path)


def _is_distribution(source: Any, overrides: dict[str, Any] | None = None) -> bool:
    """Whether ``source`` is a valid scenario distribution with uncertain fields."""
    try:
        return load_distribution(source, overrides or None).uncertain
    except ScenarioError:
        return False


def _is_scenario_file(path: Path) -> bool:
    """A YAML file with scenario fields (segments) rather than agents."""
    if not path.is_file():
        return False
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "segments" in data and "agents" not in data

"""Finding, reading and validating scenario files.

Scenarios are read with a ``yaml.SafeLoader`` (so no YAML tag can build Python
objects) that also refuses duplicate keys, and validated by
:class:`gtmgym.envs.scenario.Scenario`. Every
problem, from a missing file to a churn of 1.5, raises :class:`ScenarioError`
with the file, the field path, the offending value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gtmgym.envs.scenario import DISTRIBUTION_KINDS, Scenario

SCENARIO_PACKAGE = "gtmgym.scenarios"
DISTRIBUTION_FOLDER = "uncertain"  # bundled scenarios with distributions, beside the fixed


class ScenarioError(ValueError):
    """A scenario that cannot be used: the message says where and why."""


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package, sorted."""
    folder = resources.files(SCENARIO_PACKAGE)
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def bundled_distributions() -> list[str]:
    """Names of the scenario distributions shipped with the package
    (``gtmgym/scenarios/uncertain/``, docs/uncertainty.md), sorted."""
    folder = resources.files(SCENARIO_PACKAGE).joinpath(DISTRIBUTION_FOLDER)
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


def scenario_path(name_or_path: str | Path) -> Path:
    """The file a bundled name or a path refers to (not checked to exist)."""
    text = str(name_or_path)
    folder = resources.files(SCENARIO_PACKAGE)
    if text in bundled_scenarios():
        return Path(str(folder.joinpath(f"{text}.yaml")))
    if text in bundled_distributions():
        return Path(str(folder.joinpath(DISTRIBUTION_FOLDER, f"{text}.yaml")))
    return Path(text)


def load_scenario(
    source: str | Path | Scenario | Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> Scenario:
    """Return a validated scenario.

    Args:
        source: a bundled scenario name (see :func:`bundled_scenarios`), the
            path of a YAML file, an already validated :class:`Scenario`, or a
            mapping with the same fields as the YAML file.
        overrides: fields to replace, as a nested mapping merged into the
            scenario before validation (e.g. ``{"budget": {"per_period": 5}}``).

    Raises:
        ScenarioError: the file is missing or unreadable, is not valid YAML,
            or does not describe a valid scenario (a scenario with
            distributions is read by
            :func:`gtmgym.envs.distribution.load_distribution`).
    """
    if isinstance(source, Scenario) and not overrides:
        return source
    data, origin, _ = scenario_source(source)
    if overrides:
        data = merged(data, overrides)
    return validate_scenario(data, origin)


def scenario_source(
    source: str | Path | Scenario | Mapping[str, Any],
) -> tuple[Any, str, Path | None]:
    """The data of a scenario source, the name messages give it, and the
    folder of its file (None for a mapping or a Scenario)."""
    if isinstance(source, Scenario):
        return source.model_dump(), f"scenario {source.name!r}", None
    if isinstance(source, Mapping):
        return dict(source), "scenario mapping", None
    if isinstance(source, str | Path):
        path = scenario_path(source)
        return _read_yaml(path, str(source)), str(path), path.parent
    raise ScenarioError(
        f"a scenario is a bundled name, a path, a mapping or a Scenario; "
        f"got {type(source).__name__}"
    )


def validate_scenario(data: Any, origin: str) -> Scenario:
    """Validate parsed YAML data; ``origin`` names it in error messages."""
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"{origin}: a scenario must be a mapping of fields (name, periods, "
            f"segments, ...), got {type(data).__name__}: {_show(data)}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(f"{origin}: invalid scenario\n{validation_problems(error)}") from None


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping
    (plain PyYAML silently keeps the last one)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, given: str) -> Any:
    if not path.is_file():
        known = ", ".join(bundled_scenarios() + bundled_distributions())
        raise ScenarioError(
            f"{given}: no such scenario file (and not a bundled scenario; bundled: {known})"
        )
    try:
        return read_yaml(path)
    except YamlFileError as error:
        raise ScenarioError(str(error)) from None


class YamlFileError(ValueError):
    """A YAML file cannot be read or parsed; the message names the file and line."""


def read_yaml(path: Path) -> Any:
    """The data of a YAML file, read safely and refusing a key given twice.

    Scenario and experiment files are both read through this.

    Raises:
        YamlFileError: the file cannot be read, or is not valid YAML.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise YamlFileError(f"{path}: cannot read the file: {error}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise YamlFileError(f"{path}: not valid YAML: {_yaml_problem(error)}") from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def validation_problems(error: ValidationError, fields_doc: str = "docs/model.md") -> str:
    """One ``  - field: message (got value)`` line per problem pydantic found;
    scenario, experiment and calibration files are all reported this way."""
    return "\n".join(f"  - {_describe(problem, fields_doc)}" for problem in error.errors())


def _describe(problem: Mapping[str, Any], fields_doc: str) -> str:
    where = _field_path(problem["loc"])
    message = problem["msg"].removeprefix("Value error, ")
    given = problem.get("input")
    if problem["type"] == "extra_forbidden":
        message = f"unknown field (check the spelling; see {fields_doc} for the fields)"
        if where in _DISTRIBUTION_SETTINGS:
            message = _ONE_SCENARIO_NEEDED
    elif isinstance(given, Mapping) and set(given) & set(DISTRIBUTION_KINDS):
        message = _ONE_SCENARIO_NEEDED
    if where == "":
        return message
    return f"{where}: {message} (got {_show(problem.get('input'))})"


_DISTRIBUTION_SETTINGS = ("draws", "observe_parameters", "family")
_ONE_SCENARIO_NEEDED = (
    "a distribution (docs/uncertainty.md): the environments take it, but this needs one "
    "fixed scenario (load_distribution(...).mean() is its point estimate)"
)


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, nested mappings key by key."""
    result = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result

"""One look per agent, the same in every figure of every report.

An agent's colour, marker and line style follow from its name alone: the
agents of the registry (:data:`gtmgym.agents.registry.AGENTS`) take the slots
of a fixed table in the registry's order, so ``greedy`` is drawn the same in a
learning curve, a profile and a suite's aggregate, in this run and the next.
The planner, the yardstick, is always black and solid, the random agent (the
floor of the normalised score) grey and dotted. The others' colours are Paul
Tol's "muted" scheme for colour-blind readers (Tol, "Colour Schemes", SRON
technical note, 2021); every registry agent has its own marker, and no two
share both colour and line style, so two lines stay apart in print and in
greyscale.

Labels that are not registry names (``label: ppo-small`` in an experiment)
take the slots after the registry's, in sorted order of the labels drawn
together, so a report gives each of its labels its own look.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gtmgym.agents.registry import AGENTS
from gtmgym.experiments.summary import PLANNER, RANDOM

# Paul Tol's "muted" scheme: nine colours told apart by colour-blind readers
PALETTE = (
    "#332288",
    "#CC6677",
    "#117733",
    "#88CCEE",
    "#882255",
    "#44AA99",
    "#AA4499",
    "#999933",
    "#DDCC77",  # the palest last: to a2c, seldom drawn
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "8")
LINE_STYLES = ("--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))  # solid is the planner's


@dataclass(frozen=True)
class AgentStyle:
    """How one agent is drawn: matplotlib's ``color``, ``marker`` and ``linestyle``."""

    colour: str
    marker: str
    line_style: str | tuple

    def line(self) -> dict:
        """Keywords for ``Axes.plot``."""
        return {"color": self.colour, "marker": self.marker, "linestyle": self.line_style}


PLANNER_STYLE = AgentStyle("#000000", "*", "-")
RANDOM_STYLE = AgentStyle("#777777", "x", ":")  # the floor of the normalised score


def _slot(index: int) -> AgentStyle:
    """Slot ``index`` of the table: colour, marker and line style each cycle
    on their own, so no two of the first 36 slots share a colour and a line
    style, and no two of the first 12 a marker."""
    return AgentStyle(
        PALETTE[index % len(PALETTE)],
        MARKERS[index % len(MARKERS)],
        LINE_STYLES[index % len(LINE_STYLES)],
    )


FIXED = {PLANNER: PLANNER_STYLE, RANDOM: RANDOM_STYLE}
REGISTRY_ORDER = [name for name in AGENTS if name not in FIXED]


def agent_styles(labels: Iterable[str]) -> dict[str, AgentStyle]:
    """The style of each label: fixed for registry names, the free slots in
    sorted order for the others."""
    labels = list(dict.fromkeys(labels))
    styles = {}
    for label in labels:
        if label in FIXED:
            styles[label] = FIXED[label]
        elif label in REGISTRY_ORDER:
            styles[label] = _slot(REGISTRY_ORDER.index(label))
    others = sorted(label for label in labels if label not in styles)
    for offset, label in enumerate(others):
        styles[label] = _slot(len(REGISTRY_ORDER) + offset)
    return {label: styles[label] for label in labels}

"""Agents behind one interface: heuristics, tabular, deep (SB3) and the planner."""

from gtmgym.agents.base import Agent, with_state
from gtmgym.agents.evaluation import evaluate
from gtmgym.agents.registry import load, make, names

__all__ = ["Agent", "evaluate", "load", "make", "names", "with_state"]

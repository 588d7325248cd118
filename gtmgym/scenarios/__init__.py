"""The bundled scenarios (``*.yaml`` beside this file) and generated ones.

:func:`random_scenario` makes a random valid scenario from a seed;
:func:`scenario_family` makes a family of markets of one structure with
numbered levels, for fixed train and test sets (docs/uncertainty.md).
"""

from gtmgym.scenarios.family import scenario_family
from gtmgym.scenarios.generator import random_scenario

__all__ = ["random_scenario", "scenario_family"]

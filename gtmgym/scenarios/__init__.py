"""The bundled scenarios (``*.yaml`` beside this file) and random ones.

:func:`random_scenario` makes a random valid scenario from a seed.
"""

from gtmgym.scenarios.generator import random_scenario

__all__ = ["random_scenario"]

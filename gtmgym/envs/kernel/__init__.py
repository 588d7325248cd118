"""The market model's kernel: everything the compiled period is made of.

A reader finds each equation of docs/model.md by its section number:

- :mod:`~gtmgym.envs.kernel.layouts`: the parameters, state and figures,
  declared once with names, and the named views compiled code reads them by;
  the starting state (State).
- :mod:`~gtmgym.envs.kernel.period`: one market's period, sections 1-7, with
  the entry rule (1) and the money rule (2) every other caller uses too.
- :mod:`~gtmgym.envs.kernel.reward`: the objectives (Rewards).
- :mod:`~gtmgym.envs.kernel.observation`: what the agent sees (Observation).
- :mod:`~gtmgym.envs.kernel.randomness`: the per-market random streams (Noise).
- :mod:`~gtmgym.envs.kernel.advance`: :func:`advance`, the one way every
  caller plays a period, for a batch of markets on all cores.
"""

# numba's cache must know the model's files before any is compiled
from gtmgym.envs.kernel import compiled_cache  # noqa: F401  # isort: skip
from gtmgym.envs.kernel.advance import (
    NonFiniteStateError,
    Period,
    Stepper,
    advance,
    available_money,
    entry,
    observe_states,
)
from gtmgym.envs.kernel.layouts import MarketState, Params, PeriodFigures, initial_state
from gtmgym.envs.kernel.randomness import stream_key, stream_keys

__all__ = [
    "MarketState",
    "NonFiniteStateError",
    "Params",
    "Period",
    "PeriodFigures",
    "Stepper",
    "advance",
    "available_money",
    "entry",
    "initial_state",
    "observe_states",
    "stream_key",
    "stream_keys",
]

"""The even split: the budget spread evenly, never entering a new market."""

from __future__ import annotations

from typing import Any

import numpy as np

from gtmgym.agents.base import Agent
from gtmgym.agents.decisions import encode


class EqualAgent(Agent):
    """Spend all the available money, evenly over the segments that sell and
    the channels available there; never enter a segment.

    The naive allocation a team without a model would make, and the
    reference any learnt allocation must beat.
    """

    name = "equal"

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> Any:
        selling = np.asarray(info["selling"], dtype=bool)
        pairs = selling[:, None] & self.params.available
        count = pairs.sum()
        shares = pairs / count if count else np.zeros(pairs.shape)
        return encode(self.codec, shares, np.zeros_like(selling), selling)

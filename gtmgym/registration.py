"""Registration of the environments with Gymnasium's registry."""

from __future__ import annotations

import gymnasium as gym

from gtmgym.envs import ENV_ID


def register_envs() -> None:
    """Register ``gtmgym/MarketExpansion-v0`` (idempotent)."""
    if ENV_ID in gym.registry:
        return
    gym.register(
        id=ENV_ID,
        entry_point="gtmgym.envs.market_expansion:MarketExpansionEnv",
        vector_entry_point="gtmgym.envs.vector_market_expansion:MarketExpansionVectorEnv",
    )

"""Training logs for TensorBoard: where a run's logs go, and the scalars of
tabular Q-learning (the SB3 agents write their own through SB3's logger).

A run's logs go to ``<root>/<run name>``, e.g. ``logs/default__dqn__0``; when
an earlier attempt at the same run left logs there (a run interrupted and
started again), to ``<run name>_2``, ``_3``, ..., so no two attempts share one
curve. Scalars are written against environment steps, as SB3 writes them.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

# episodes in the moving mean of returns: SB3's stats_window_size
RETURN_WINDOW = 100
TENSORBOARD_MISSING = (
    "TensorBoard logs need the tensorboard package: pip install 'gtmgym[tensorboard]'"
)


def log_folder(root: str | Path, run_name: str) -> Path:
    """Create and return the folder for this attempt at ``run_name`` under ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    attempt = 1
    while True:
        folder = root / (run_name if attempt == 1 else f"{run_name}_{attempt}")
        try:
            folder.mkdir()  # atomic: two processes never get the same folder
        except FileExistsError:
            attempt += 1
            continue
        return folder


def require_tensorboard() -> None:
    """Raise ImportError, saying how to install it, if TensorBoard is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ImportError(TENSORBOARD_MISSING) from None


class EpisodeLog:
    """Q-learning's scalars, one point per finished episode, under SB3's tags
    where SB3 has one:

    - ``rollout/ep_rew_mean``: mean return of the last 100 episodes;
    - ``rollout/exploration_rate``: epsilon (DQN's tag);
    - ``rollout/ep_return``: the episode's own return;
    - ``train/td_error``: mean absolute TD error of the episode's updates.

    The writer is open only while the agent learns (:meth:`open`,
    :meth:`close`), so an agent holding a log still pickles; each
    ``learn`` call adds an event file to the same folder.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.returns: deque[float] = deque(maxlen=RETURN_WINDOW)
        self._writer: Any = None

    def open(self) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(str(self.folder))

    def episode(self, step: int, episode_return: float, td_error: float, epsilon: float) -> None:
        self.returns.append(episode_return)
        scalars = {
            "rollout/ep_rew_mean": sum(self.returns) / len(self.returns),
            "rollout/exploration_rate": epsilon,
            "rollout/ep_return": episode_return,
            "train/td_error": td_error,
        }
        for tag, value in scalars.items():
            self._writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"_writer": None}

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
LOG_INTERVAL = 4
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
    """Q-learning's scalars under SB3's tags, a point every 4 finished
    episodes (SB3's DQN logs every ``log_interval=4`` episodes):

    - ``rollout/ep_rew_mean``: mean return of the last 100 episodes;
    - ``rollout/exploration_rate``: epsilon (DQN's tag);
    - ``train/td_error``: mean absolute TD error of the updates in the
      episodes since the last point.

    A point per episode would cost a fifth of Q-learning's training time
    (torch's ``add_scalar`` takes about 0.2 ms, a 24-period episode 3 ms).
    The writer is open only while the agent learns (:meth:`open`,
    :meth:`close`, which writes the episodes not yet written), so an agent
    holding a log still pickles; each ``learn`` call adds an event file to the
    same folder.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.returns: deque[float] = deque(maxlen=RETURN_WINDOW)
        self.td_errors: list[float] = []  # of the episodes since the last point
        self.step = 0  # of the last finished episode, and epsilon then
        self.epsilon = 1.0
        self._writer: Any = None

    def open(self) -> None:
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(str(self.folder))

    def episode(self, step: int, episode_return: float, td_error: float, epsilon: float) -> None:
        self.returns.append(episode_return)
        self.td_errors.append(td_error)
        self.step, self.epsilon = step, epsilon
        if len(self.td_errors) >= LOG_INTERVAL:
            self._write()

    def _write(self) -> None:
        scalars = {
            "rollout/ep_rew_mean": sum(self.returns) / len(self.returns),
            "rollout/exploration_rate": self.epsilon,
            "train/td_error": sum(self.td_errors) / len(self.td_errors),
        }
        for tag, value in scalars.items():
            self._writer.add_scalar(tag, value, self.step)
        self.td_errors.clear()

    def close(self) -> None:
        if self._writer is not None:
            if self.td_errors:
                self._write()
            self._writer.close()
            self._writer = None

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"_writer": None}

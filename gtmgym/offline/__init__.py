"""Offline datasets: episodes of any agent recorded as a Minari dataset.

:func:`record` (``gtmgym.record``, ``gtmgym record``) is imported on first use:
Minari is an optional extra (``pip install 'gtmgym[offline]'``).
"""

from typing import Any


class RecordError(ValueError):
    """A recording cannot be made as asked; the message says why."""


__all__ = ["RecordError", "record"]


def __getattr__(name: str) -> Any:
    if name in ("record", "dataset_path"):
        from gtmgym.offline import recording

        return getattr(recording, name)
    raise AttributeError(f"module 'gtmgym.offline' has no attribute {name!r}")

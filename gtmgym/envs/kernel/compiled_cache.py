"""numba's on-disk cache, made to go stale when any model file changes.

numba keys each cached function on its own source file's modification time
and size. Compiled code calls compiled code in other files (``advance_serial``
calls ``play_period``, ``reward`` and ``observe``) and freezes the global constants it reads, so
editing ``reward.py`` alone would leave ``advance.py``'s cached machine code,
with the old reward inlined, valid.

Importing this module (``gtmgym.envs.kernel`` does so first) runs :func:`install`,
which puts locators in front of numba's own for the files of the kernel
folder whose *source stamp* is a hash of every ``.py`` file there, so
a change to any of them makes every cached function of the model recompile
(about 20 s, once). Files elsewhere keep numba's own locators. The stamp is
compared by numba on loading each function's index; a mismatch is a cache
miss, and the index is rewritten with the new stamp.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from numba.core import caching

MODEL_FOLDER = Path(__file__).resolve().parent


def _numba(name: str) -> Any:
    """A class of numba's caching module (older releases prefix an underscore)."""
    return getattr(caching, name, None) or getattr(caching, f"_{name}")


@cache
def model_stamp() -> str:
    """A hash of the name and contents of every Python file of the model."""
    digest = hashlib.sha256()
    for path in sorted(MODEL_FOLDER.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class _ModelStamp:
    """Mixin for a numba cache locator: only the model's files, stamped by
    :func:`model_stamp` instead of the one file's time and size."""

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        if Path(py_file).resolve().parent != MODEL_FOLDER:
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]

    def get_source_stamp(self) -> str:
        return model_stamp()


class _InTree(_ModelStamp, _numba("InTreeCacheLocator")):
    """In ``__pycache__`` beside the source (numba's default)."""


class _UserProvided(_ModelStamp, _numba("UserProvidedCacheLocator")):
    """Under ``NUMBA_CACHE_DIR`` when it is set."""


class _UserWide(_ModelStamp, _numba("UserWideCacheLocator")):
    """In the user's cache folder when ``__pycache__`` is not writable."""


LOCATORS = (_UserProvided, _InTree, _UserWide)


def install() -> None:
    """Put the model's locators first in numba's list (once). Must run before
    the first ``@njit(cache=True)`` of the model is applied."""
    classes = _numba("CacheImpl")._locator_classes
    if classes[: len(LOCATORS)] != list(LOCATORS):
        classes[:0] = LOCATORS


install()

"""Batched records stored as one float64 array, one row per market.

The model's parameters, its state and a period's figures are each a handful
of named arrays (per segment, per channel, per segment x channel, ...). They
are kept side by side in one ``(N, width)`` float64 array so that the
compiled kernel takes and returns a single array per record, which is what
keeps a step cheap, while Python code reads them by name:
``state.customers`` is an ``(N, S, C + 1)`` view, and integer and boolean
fields come back with their own dtype.

The layout (which columns hold which field) is derived from the record's
field list and the scenario's sizes, in :func:`layout`, and handed to the
compiled code as an offsets array; the compiled code unpacks a row into a
named view once (:mod:`gtmgym.envs.kernel.layouts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

# the shape of a field after the environment axis, by name
SHAPES = ("one", "S", "C", "SC", "SC+1")


@dataclass(frozen=True)
class Field:
    """A named field: its shape after the env axis and the dtype it reads as."""

    name: str
    shape: str  # one of SHAPES
    dtype: type = float


@dataclass(frozen=True)
class Layout:
    """Where each field of a record lies in a row, for ``S`` segments, ``C`` channels."""

    starts: dict[str, int]
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, type]
    offsets: np.ndarray  # (fields + 1,) int64: start of each field, then the width
    width: int

    def __deepcopy__(self, memo: dict[int, Any]) -> Layout:
        return self  # immutable, and copied with every info dict (SB3 deep-copies infos)


def layout(fields: tuple[Field, ...], n_segments: int, n_channels: int) -> Layout:
    """The column layout of a record with ``fields``."""
    sizes = {
        "one": (),
        "S": (n_segments,),
        "C": (n_channels,),
        "SC": (n_segments, n_channels),
        "SC+1": (n_segments, n_channels + 1),
    }
    starts, shapes, dtypes, offsets = {}, {}, {}, []
    column = 0
    for field in fields:
        shape = sizes[field.shape]
        starts[field.name], shapes[field.name], dtypes[field.name] = column, shape, field.dtype
        offsets.append(column)
        column += int(np.prod(shape, dtype=np.int64))
    offsets.append(column)
    frozen_offsets = np.array(offsets, dtype=np.int64)
    frozen_offsets.setflags(write=False)
    return Layout(starts, shapes, dtypes, frozen_offsets, column)


class Record:
    """Named, batched fields over one ``(N, width)`` float64 array ``data``."""

    FIELDS: ClassVar[tuple[Field, ...]] = ()
    __slots__ = ("data", "layout")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for field in cls.FIELDS:
            setattr(cls, field.name, property(_reader(field.name), doc=f"{field.name} field"))

    def __init__(self, data: np.ndarray, n_segments: int, n_channels: int) -> None:
        self.layout = self.layout_for(n_segments, n_channels)
        if data.ndim != 2 or data.shape[1] != self.layout.width:
            raise ValueError(
                f"{type(self).__name__} needs an (N, {self.layout.width}) array, got {data.shape}"
            )
        self.data = data

    @classmethod
    def layout_for(cls, n_segments: int, n_channels: int) -> Layout:
        """This record's layout for a scenario's sizes (remembered per class)."""
        key = (cls, n_segments, n_channels)
        found = _LAYOUTS.get(key)
        if found is None:
            found = _LAYOUTS[key] = layout(cls.FIELDS, n_segments, n_channels)
        return found

    @classmethod
    def wrap(cls, data: np.ndarray, record_layout: Layout) -> Record:
        """A record over ``data`` (trusted: the compiled step's own output)."""
        record = object.__new__(cls)
        record.data = data
        record.layout = record_layout
        return record

    @classmethod
    def from_fields(cls, n_segments: int, n_channels: int, **values: Any) -> Record:
        """A record from every field by name, each with the env axis first."""
        record_layout = cls.layout_for(n_segments, n_channels)
        missing = set(record_layout.starts) - set(values)
        unknown = set(values) - set(record_layout.starts)
        if missing or unknown:
            raise TypeError(
                f"{cls.__name__} fields: missing {missing or '{}'}, unknown {unknown or '{}'}"
            )
        num_envs = len(next(iter(values.values())))
        data = np.empty((num_envs, record_layout.width))
        for name, value in values.items():
            start = record_layout.starts[name]
            size = math.prod(record_layout.shapes[name])  # np.prod: 3 us a field
            data[:, start : start + size] = np.asarray(value, dtype=float).reshape(num_envs, size)
        return cls.wrap(data, record_layout)

    @classmethod
    def stack(cls, records: list[Record]) -> Record:
        """One batch of every record's rows, in order (records of one layout)."""
        layouts = {id(record.layout) for record in records}
        if len(layouts) != 1:
            raise ValueError(f"{cls.__name__}.stack needs records of one layout")
        return cls.wrap(np.concatenate([record.data for record in records]), records[0].layout)

    @property
    def num_envs(self) -> int:
        return self.data.shape[0]

    def fields(self) -> dict[str, np.ndarray]:
        """Every field by name."""
        return {field.name: getattr(self, field.name) for field in self.FIELDS}

    def where(self, mask: np.ndarray, other: Record) -> Record:
        """This record, with the environments in ``mask`` taken from ``other``."""
        return self.wrap(np.where(mask[:, None], other.data, self.data), self.layout)

    def index(self, env: int) -> Record:
        """Environment ``env`` as a batch of one."""
        return self.wrap(self.data[env : env + 1].copy(), self.layout)

    def repeat(self, count: int) -> Record:
        """A batch of ``count`` copies of a one-environment record."""
        return self.wrap(np.repeat(self.data, count, axis=0), self.layout)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return np.array_equal(self.data, other.data)

    __hash__ = None  # type: ignore[assignment] - mutable arrays inside

    def __deepcopy__(self, memo: dict[int, Any]) -> Record:
        return self.wrap(self.data.copy(), self.layout)

    def __getstate__(self) -> tuple[np.ndarray, Layout]:
        return self.data, self.layout

    def __setstate__(self, state: tuple[np.ndarray, Layout]) -> None:
        self.data, self.layout = state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_envs={self.num_envs})"


_LAYOUTS: dict[tuple[type, int, int], Layout] = {}


def _reader(name: str):
    def read(self: Record) -> np.ndarray:
        start = self.layout.starts[name]
        shape = self.layout.shapes[name]
        if shape:
            size = shape[0] if len(shape) == 1 else shape[0] * shape[1]
            value = self.data[:, start : start + size]
            if len(shape) > 1:
                value = value.reshape((self.data.shape[0], *shape))
        else:
            value = self.data[:, start]
        dtype = self.layout.dtypes[name]
        if dtype is bool:
            return value != 0.0
        if dtype is int:
            return value.astype(np.int64)
        return value

    read.__name__ = name
    return read

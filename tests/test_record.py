"""The kernel's records: fields read back as written, with their dtypes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import gtmgym
from gtmgym.envs.kernel import MarketState, initial_state
from gtmgym.envs.params import MarketParams


@pytest.fixture
def params() -> MarketParams:
    return MarketParams.from_scenario(gtmgym.load_scenario("default"))


def test_fields_read_back_with_their_shapes_and_dtypes(params: MarketParams) -> None:
    s, c = params.n_segments, params.n_channels
    rng = np.random.default_rng(0)
    values = {
        "period": np.array([3, 7]),
        "population": rng.uniform(1, 2, (2, s)),
        "customers": rng.uniform(0, 1, (2, s, c + 1)),
        "entered": rng.uniform(size=(2, s)) > 0.5,
        "countdown": rng.integers(0, 4, (2, s)),
        "adstock": rng.uniform(0, 1, (2, s, c)),
        "competitor": rng.uniform(0, 1, (2, s)),
        "log_shock": rng.normal(size=(2, s)),
        "event_left": rng.integers(0, 3, (2, s)),
        "demand": rng.uniform(0.5, 1.5, (2, s)),
        "bank": rng.uniform(size=2),
        "budget_left": np.array([np.inf, 5.0]),
        "cash": rng.normal(size=2),
    }
    state = MarketState.from_fields(s, c, **values)
    for name, value in values.items():
        read = getattr(state, name)
        assert read.shape == value.shape, name
        assert read.dtype.kind == np.asarray(value).dtype.kind, name
        assert np.array_equal(read, value), name
    assert np.array_equal(state.selling, values["entered"] & (values["countdown"] == 0))


def test_missing_or_unknown_fields_are_refused(params: MarketParams) -> None:
    with pytest.raises(TypeError, match="missing"):
        MarketState.from_fields(params.n_segments, params.n_channels, period=np.zeros(1))


def test_batch_operations_act_per_environment(params: MarketParams) -> None:
    start = initial_state(params.kernel, 3, params.noise)
    later = MarketState.from_fields(
        params.n_segments,
        params.n_channels,
        **{**start.fields(), "period": np.array([5, 6, 7])},
    )
    mixed = later.where(np.array([True, False, True]), start)
    assert mixed.period.tolist() == [0, 6, 0]
    assert later.index(1).period.tolist() == [6]
    assert later.index(2).repeat(4).period.tolist() == [7, 7, 7, 7]
    assert later.index(1) == later.index(1) and later.index(1) != later.index(2)


def test_a_record_pickles(params: MarketParams) -> None:
    state = initial_state(params.kernel, 2, params.noise)
    again = pickle.loads(pickle.dumps(state))
    assert again == state
    assert np.array_equal(again.customers, state.customers)


def test_a_deep_copy_owns_its_data_and_shares_the_layout(params: MarketParams) -> None:
    """SB3 deep-copies every info dict, ``info["state"]`` included."""
    import copy

    state = initial_state(params.kernel, 1, params.noise)
    copied = copy.deepcopy({"state": state})["state"]
    assert copied == state
    assert copied.layout is state.layout
    copied.data[0, 0] += 1.0
    assert copied != state

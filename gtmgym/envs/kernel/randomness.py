"""The model's random draws, compiled: one xoshiro256** stream per market.

Handing a ``numpy.random.Generator`` to compiled code costs several
microseconds per call, more than a whole period, so each market keeps a
256-bit xoshiro256** state that the compiled period advances. The state is
seeded from the market's own generator when an episode starts
(:func:`stream_key` of ``env.np_random`` in the scalar environment, of market
``i``'s generator in the vector environment), so the same seed gives the same
trajectory whatever the batch, and a pickled env carries its streams.

Distributions are exact: normals by the polar method, binomials by inversion
when ``n * min(p, 1 - p) <= 30`` and by BTPE otherwise (Kachitvichyanukul and
Schmeiser 1988, as NumPy's ``Generator.binomial`` does), multinomials as a
chain of conditional binomials (as NumPy's ``multinomial`` does).

The binomial and multinomial samplers refuse a NaN probability and more than
:data:`MAX_TRIALS` trials (a binomial returns :data:`REFUSED`, a multinomial
False): BTPE's rejection loop compares its draws with the probability, so on
NaN it would never accept, and a compiled loop cannot be interrupted. They do
not raise, because the markets of a batch run in parallel threads, where an
exception cannot travel; the period turns a refusal into NaN figures, which
the caller reports. The scenario's allowed ranges keep the model's draws far
inside these limits (docs/model.md, Allowed ranges).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit, uint64

KEY_WORDS = 4
MAX_TRIALS = 2**53  # counts above this are not exact in float64, where the model keeps them
REFUSED = -1  # what a binomial returns for an input it cannot draw from


def stream_key(rng: np.random.Generator) -> np.ndarray:
    """A fresh 256-bit stream state, taken from ``rng``."""
    return stream_keys([rng])[0]


def stream_keys(generators: Sequence[np.random.Generator]) -> np.ndarray:
    """(n, KEY_WORDS) fresh stream states, row ``k`` taken from ``generators[k]``
    (a vector env restarts a thousand markets at once: one array op, not one each)."""
    if not generators:
        return np.empty((0, KEY_WORDS), dtype=np.uint64)
    words = [rng.bit_generator.random_raw(KEY_WORDS) for rng in generators]
    keys = np.concatenate(words).reshape(-1, KEY_WORDS)
    keys[:, 0] |= np.uint64(1)  # xoshiro's state must not be all zeros
    return keys


@njit(cache=True, inline="always")
def _rotl(x: uint64, k: int) -> uint64:
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True)
def next_uint64(state: np.ndarray) -> uint64:
    """xoshiro256** (Blackman and Vigna 2018): advances ``state`` in place."""
    result = _rotl(state[1] * uint64(5), 7) * uint64(9)
    t = state[1] << uint64(17)
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = _rotl(state[3], 45)
    return result


@njit(cache=True)
def uniform(state: np.ndarray) -> float:
    """A double in [0, 1) with 53 random bits."""
    return (next_uint64(state) >> uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def standard_normal(state: np.ndarray) -> float:
    """A standard normal draw (Marsaglia's polar method, one of the pair)."""
    while True:
        x = 2.0 * uniform(state) - 1.0
        y = 2.0 * uniform(state) - 1.0
        r2 = x * x + y * y
        if 0.0 < r2 < 1.0:
            return x * math.sqrt(-2.0 * math.log(r2) / r2)


@njit(cache=True)
def binomial(state: np.ndarray, n: int, p: float) -> int:
    """A Binomial(n, p) draw; ``p`` is clipped to [0, 1]. :data:`REFUSED` when
    ``p`` is NaN or ``n`` is above :data:`MAX_TRIALS`."""
    if p != p or n > MAX_TRIALS:
        return REFUSED
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if p <= 0.5:
        return _binomial_small_p(state, n, p)
    return n - _binomial_small_p(state, n, 1.0 - p)


@njit(cache=True)
def multinomial(state: np.ndarray, n: int, probabilities: np.ndarray, out: np.ndarray) -> bool:
    """Counts of ``n`` trials over ``len(probabilities)`` outcomes, into ``out``.

    The probabilities may sum to less than one: the rest is the outcome that
    is not counted (here: a prospect not won). ``out`` may be
    ``probabilities`` itself (each probability is read before its count is
    written). False, with ``out`` untouched, when a probability is not finite
    or ``n`` is above :data:`MAX_TRIALS`.
    """
    if n > MAX_TRIALS:
        return False
    for k in range(probabilities.shape[0]):
        if not math.isfinite(probabilities[k]):
            return False
    remaining = n
    mass_left = 1.0
    for k in range(probabilities.shape[0]):
        if remaining <= 0 or mass_left <= 0.0:
            out[k] = 0
            continue
        probability = probabilities[k]
        drawn = binomial(state, remaining, min(probability / mass_left, 1.0))
        remaining -= drawn
        mass_left -= probability
        out[k] = drawn
    return True


@njit(cache=True)
def _binomial_small_p(state: np.ndarray, n: int, p: float) -> int:
    if n * p <= 30.0:
        return _binomial_inversion(state, n, p)
    return _binomial_btpe(state, n, p)


@njit(cache=True)
def _binomial_inversion(state: np.ndarray, n: int, p: float) -> int:
    q = 1.0 - p
    qn = math.exp(n * math.log(q))
    mean = n * p
    bound = min(n, mean + 10.0 * math.sqrt(mean * q + 1.0))
    x = 0
    px = qn
    u = uniform(state)
    while u > px:
        x += 1
        if x > bound:
            x = 0
            px = qn
            u = uniform(state)
        else:
            u -= px
            px = ((n - x + 1) * p * px) / (x * q)
    return x


@njit(cache=True)
def _binomial_btpe(state: np.ndarray, n: int, r: float) -> int:
    """BTPE for ``r <= 0.5`` and ``n * r > 30``.

    A translation of NumPy's ``random_binomial_btpe`` (BSD-3-Clause), with the
    Stirling-series constants as NumPy 2.5 corrected them.
    """
    q = 1.0 - r
    fm = n * r + r
    m = int(math.floor(fm))
    p1 = math.floor(2.195 * math.sqrt(n * r * q) - 4.6 * q) + 0.5
    xm = m + 0.5
    xl = xm - p1
    xr = xm + p1
    c = 0.134 + 20.5 / (15.3 + m)
    a = (fm - xl) / (fm - xl * r)
    laml = a * (1.0 + a / 2.0)
    a = (xr - fm) / (xr * q)
    lamr = a * (1.0 + a / 2.0)
    p2 = p1 * (1.0 + 2.0 * c)
    p3 = p2 + c / laml
    p4 = p3 + c / lamr
    nrq = n * r * q
    while True:
        u = uniform(state) * p4
        v = uniform(state)
        if u <= p1:  # triangular region: accept at once
            return int(math.floor(xm - p1 * v + u))
        if u <= p2:  # parallelograms
            x = xl + (u - p1) / c
            v = v * c + 1.0 - abs(m - x + 0.5) / p1
            if v > 1.0:
                continue
            y = int(math.floor(x))
        elif u <= p3:  # left exponential tail
            y = int(math.floor(xl + math.log(v) / laml))
            if y < 0 or v == 0.0:
                continue
            v = v * (u - p2) * laml
        else:  # right exponential tail
            y = int(math.floor(xr - math.log(v) / lamr))
            if y > n or v == 0.0:
                continue
            v = v * (u - p3) * lamr
        k = abs(y - m)
        if k <= 20 or k >= nrq / 2.0 - 1:
            # explicit evaluation of f(y) / f(m)
            s = r / q
            a = s * (n + 1)
            f = 1.0
            if m < y:
                for i in range(m + 1, y + 1):
                    f *= a / i - s
            elif m > y:
                for i in range(y + 1, m + 1):
                    f /= a / i - s
            if v <= f:
                return y
            continue
        # squeezing on log f(y), then the Stirling bound
        rho = (k / nrq) * ((k * (k / 3.0 + 0.625) + 0.16666666666666666) / nrq + 0.5)
        t = -k * k / (2.0 * nrq)
        big_a = math.log(v)
        if big_a < t - rho:
            return y
        if big_a > t + rho:
            continue
        x1 = y + 1.0
        f1 = m + 1.0
        z = n + 1.0 - m
        w = n - y + 1.0
        x2, f2, z2, w2 = x1 * x1, f1 * f1, z * z, w * w
        bound = (
            xm * math.log(f1 / x1)
            + (n - m + 0.5) * math.log(z / w)
            + (y - m) * math.log(w * r / (x1 * q))
            + _stirling(f1, f2)
            + _stirling(z, z2)
            - _stirling(x1, x2)
            - _stirling(w, w2)
        )
        if big_a > bound:
            continue
        return y


@njit(cache=True, inline="always")
def _stirling(x: float, x2: float) -> float:
    return (13860.0 - (462.0 - (132.0 - (99.0 - 140.0 / x2) / x2) / x2) / x2) / x / 166320.0

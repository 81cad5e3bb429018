"""Numeric helpers written for NumPy 1.26."""

import numpy as np


def check_arrays():
    a = np.arange(6).reshape(2, 3)
    assert a.sum(axis=0).tolist() == [3, 5, 7]
    assert np.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]


def check_float_alias():
    assert np.float_(1.5) == 1.5


def check_nan_alias():
    assert np.isnan(np.NaN)


def check_product():
    assert np.product([2, 3]) == 6


def check_random():
    rng = np.random.default_rng(0)
    assert rng.integers(0, 10, size=3).shape == (3,)

import math

import numpy as np
import pytest

from skcal.rows._row_reductions import (FEW_COLUMNS, row_dots, row_max, row_sums,
                                        row_sums_of_one_sign)


@pytest.mark.parametrize("n_columns", [1, 2, 10, FEW_COLUMNS, FEW_COLUMNS + 1, 300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_max_is_the_rows_maximum_for_few_and_many_columns(n_columns, dtype):
    values = np.random.default_rng(n_columns).normal(size=(257, n_columns)).astype(dtype)
    # a maximum is one of the values: equal exactly, whatever the order of comparisons
    np.testing.assert_array_equal(row_max(values), values.max(axis=1))


def test_row_max_propagates_nan_as_max_does():
    values = np.array([[1.0, np.nan, 3.0], [0.0, 1.0, 2.0], [np.nan, 5.0, 1.0]])
    np.testing.assert_array_equal(np.isnan(row_max(values)), [True, False, True])


@pytest.mark.parametrize("n_columns", [2, 10, FEW_COLUMNS, FEW_COLUMNS + 1, 1000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_of_one_sign_stay_within_the_pairwise_rounding_level(n_columns, dtype):
    rng = np.random.default_rng(n_columns)
    values = rng.exponential(size=(300, n_columns)).astype(dtype)
    exact = np.array([math.fsum(row) for row in values.astype(np.float64)])  # exactly rounded
    # what the temperature solver assumes of a row sum: 4 eps log2(K + 1) relative
    allowed = 4 * np.finfo(dtype).eps * np.log2(n_columns + 1)
    for sums in (row_sums_of_one_sign(values), row_sums_of_one_sign(-values)):
        relative = np.abs(np.abs(sums.astype(np.float64)) - exact) / exact
        assert relative.max() <= allowed


def test_row_sums_and_dots_agree_with_numpy_to_a_few_roundings():
    rng = np.random.default_rng(3)
    left, right = rng.normal(size=(2, 500, 7))
    # against exactly rounded sums: K = 7 terms in any order are rounded within
    # (K - 1) eps of the sum of their magnitudes, so 7 eps of it is a bound on any CPU
    scale = np.abs(left).sum(axis=1)
    tolerance = 7 * np.finfo(np.float64).eps * scale
    assert np.all(np.abs(row_sums(left) - [math.fsum(row) for row in left]) <= tolerance)
    dots = np.abs(left * right).sum(axis=1)
    exact_dots = [math.fsum(row) for row in left * right]  # each product rounded once
    assert np.all(np.abs(row_dots(left, right) - exact_dots)
                  <= 7 * np.finfo(np.float64).eps * dots)

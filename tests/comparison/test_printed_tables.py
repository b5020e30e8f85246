"""The printed tables of both comparisons name every model and method whole, in
columns that line up, however long the names are."""

import numpy as np

from skcal import PlattScaling, TemperatureScaling, compare_calibrators, compare_models


def _scores(seed=0, n=800, k=3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 3
    y = (logits / 2 + rng.gumbel(size=logits.shape)).argmax(axis=1)
    return logits, y


def test_checkpoints_whose_names_differ_at_the_end_are_named_whole():
    # two names that shared their first 23 characters were printed alike,
    # cut to 'checkpoints/run-7/step-'
    logits, y = _scores()
    models = {"checkpoints/run-7/step-1000": logits,
              "checkpoints/run-7/step-100000": logits / 2}
    result = compare_models(models, y)
    table = str(result).splitlines()
    rows = {line.split()[1]: line for line in table[2:]}
    assert set(rows) == set(models)
    # each NLL, printed with four decimals, ends in the column where its header does
    ends = {rows[name].index(f"{r['nll']:.4f}") + 6 for name, r in result.results_.items()}
    ends.add(table[1].index("NLL") + 3)
    assert len(ends) == 1


def test_methods_with_long_names_keep_the_columns_in_line():
    logits, y = _scores(1)
    names = ["temperature scaling, the plain one of the team",
             "Platt scaling on raw labels, the other one"]
    comparison = compare_calibrators(
        logits, y, calibrators={names[0]: TemperatureScaling(), names[1]: PlattScaling()},
        X_test=logits[:200], y_test=y[:200])
    lines = str(comparison).splitlines()
    header = lines[1]
    results = comparison.cv_results_
    for name, nll in zip(results["method"], results["mean_test_nll"]):
        (line,) = [line for line in lines[3:6] if line[5:].startswith(name)]
        # the NLL column ends where its header does, for every row
        assert (line.index(f"{nll:.4f}") + 6) == header.index("NLL") + 3
    test_header = lines.index("Fitted on all the data, scored on the test set "
                              "(best test NLL first):") + 1
    for line in lines[test_header + 1:]:
        name = next(n for n in [*names, "uncalibrated"] if line.startswith(n))
        nll = comparison.test_results_[name]["nll"]
        assert line.index(f"{nll:.4f}") + 6 == lines[test_header].index("NLL") + 3

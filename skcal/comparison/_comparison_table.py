"""The printed table of a calibrator comparison."""


def _format_pvalue(pvalue):
    """A p-value in a table: three decimals, or an upper bound below 0.001.

    Examples
    --------
    >>> _format_pvalue(0.0312), _format_pvalue(1e-9)
    ('0.031', '<0.001')
    """
    return "<0.001" if pvalue < 0.001 else f"{pvalue:.3f}"


def comparison_table(comparison):
    """The printed table of a :class:`~skcal.comparison._result.CalibratorComparison`:
    every method's held-out metrics, best first, its recommendation, and the
    test set's results, if any."""
    tested = "calibration_pvalue" in comparison.cv_results_
    width = max([24] + [len(name) + 2 for name in comparison.ranking_])  # names whole
    header = (
        f"{'rank':<5}{'method':<{width}}{'NLL':>9}{'ΔNLL vs best':>19}{'':>2}{'p':>8}"
        f"{'ECE %':>8}{'Brier':>8}{'accuracy':>10}{'fit s':>8}"
        + (f"{'calib. p':>10}" if tested else "")
    )
    lines = [
        f"Held-out comparison over {comparison.n_splits_} folds, means over folds (NLL in "
        "nats; Δ ± standard error of the paired difference"
        + ("" if comparison.n_groups_ is None else
           f", cluster-robust over {comparison.n_groups_} groups")
        + ", p its two-sided p-value; "
        "= : not distinguishable from the best"
        + ("; calib. p: p-value of the calibration test" if tested else "") + ")",
        header,
        "-" * len(header),
    ]
    for rank, name, row in comparison._rows():
        if rank == 1:
            diff, tie, pvalue = "best", "", ""
        else:
            diff = f"+{row['nll_diff_to_best']:.4f} ± {row['nll_diff_se']:.4f}"
            tie = "=" if row["tied_with_best"] else ""
            pvalue = _format_pvalue(row["nll_diff_pvalue"])
        lines.append(
            f"{rank:<5}{name:<{width}}{row['mean_test_nll']:>9.4f}{diff:>19}{tie:>2}{pvalue:>8}"
            f"{100 * row['mean_test_ece']:>8.2f}{row['mean_test_brier']:>8.4f}"
            f"{row['mean_test_accuracy']:>10.4f}{row['mean_fit_time']:>8.3f}"
            + (f"{_format_pvalue(row['calibration_pvalue']):>10}" if tested else "")
        )
    lines += ["", comparison.recommendation()]
    zeros = {name: int(n) for name, n in zip(comparison.cv_results_["method"],
                                             comparison.cv_results_.get("n_zero_probability", []))
             if n}
    if zeros:
        lines.append("Not recommended whatever the standard error, its held-out NLL "
                     "being infinite (clipped in the table): " + "; ".join(
                         f"{name} gave {n} observed label(s) a probability of 0"
                         for name, n in zeros.items()) + ".")
    if comparison.test_results_ is not None:
        lines += ["", "Fitted on all the data, scored on the test set (best test NLL first):",
                  f"{'method':<{width + 5}}{'NLL':>9}{'ECE %':>8}{'Brier':>8}{'accuracy':>10}"]
        for name in sorted(comparison.ranking_, key=lambda m: comparison.test_results_[m]["nll"]):
            r = comparison.test_results_[name]
            lines.append(
                f"{name:<{width + 5}}{r['nll']:>9.4f}{100 * r['ece']:>8.2f}"
                f"{r['brier']:>8.4f}{r['accuracy']:>10.4f}"
            )
    return "\n".join(lines)

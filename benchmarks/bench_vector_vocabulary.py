"""Vector scaling on language-model vocabularies: few rows, many classes, most absent.

    python benchmarks/bench_vector_vocabulary.py [--sizes 1000x32000 4000x32000 1500x5000]
                                                 [--repeat 3] [--no-single-run] [--probmetrics]
                                                 [--rst OUT]

Synthetic token logits in float32: class ``k`` of ``K`` has the prior logit
``-1.3 log k`` (Zipf-like token frequencies), each row adds ``N(0, 2^2)``, labels
are drawn from those true probabilities, and the model's logits are 1.8 times
them (overconfident), so that most classes are absent from the calibration rows
or seen once. Each size is fitted on its rows and scored on as many other rows.

Rows, side by side in one process:

- skcal ``VectorScaling()``: L-BFGS rounds of at most 20 iterations, each
  in the variables of the Hessian where it starts;
- the same with one L-BFGS run in the variables of the start's Hessian (the
  fit before the rounds; ``--no-single-run`` leaves it out, it takes minutes);
- with ``--probmetrics``, probmetrics' ``VectorScalingCalibrator`` (``pip
  install ".[benchmarks]"``), which takes probabilities: it gets the softmax
  of the logits (it took 504 s at 1500 x 5000, so it is not run by default);
- skcal ``TemperatureScaling()`` for scale.

Reported: the median fit time over ``--repeat`` fits (the variants alternate),
the iterations, the penalised training objective (skcal's, mean NLL plus
``alpha / 2`` times the squared distance from the temperature start) above the
lowest any skcal variant reached, and the held-out NLL.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from scipy.special import softmax

import skcal.solvers._vector_fit as vector_fit
from skcal import TemperatureScaling, VectorScaling
from skcal.solvers._block_softmax import as_rows
from skcal.solvers._temperature_fit import fit_inverse_temperature


def token_logits(n_rows, n_classes, seed):
    """(float32 logits, labels) of an overconfident model over a Zipf-like vocabulary."""
    rng = np.random.default_rng(seed)
    true = -1.3 * np.log(np.arange(1, n_classes + 1)) + rng.normal(
        scale=2.0, size=(n_rows, n_classes))
    proba = softmax(true, axis=1)
    y = (proba.cumsum(axis=1) > rng.random((n_rows, 1))).argmax(axis=1)
    return (1.8 * true).astype(np.float32), y


class SingleRun(VectorScaling):
    """VectorScaling with one L-BFGS run in the variables of its start's Hessian."""

    def _fit_map(self, logits, y, sample_weight, cache):
        saved = vector_fit._ROUND_ITERATIONS
        vector_fit._ROUND_ITERATIONS = self.max_iter
        try:
            return super()._fit_map(logits, y, sample_weight, cache)
        finally:
            vector_fit._ROUND_ITERATIONS = saved


class ProbmetricsVector:
    """probmetrics' vector scaling on the softmax of the logits."""

    def __init__(self):
        from probmetrics.calibrators.logistic import VectorScalingCalibrator

        self.model = VectorScalingCalibrator()

    def fit(self, logits, y):
        self.model.fit(softmax(logits.astype(np.float64), axis=1), y)
        return self

    def predict_proba(self, logits):
        return self.model.predict_proba(softmax(logits.astype(np.float64), axis=1))


def penalised_objective(model, logits, y):
    """skcal's vector-scaling objective at a fitted model's parameters."""
    a0 = fit_inverse_temperature(logits, y)[0]
    params = np.concatenate([model.coef_, model.intercept_])
    loss, _ = vector_fit.vector_scaling_loss_grad(params, as_rows(logits), y, None, y.shape[0])
    return loss + 0.5 * model.alpha * float(
        np.sum((model.coef_ - a0) ** 2) + np.sum(model.intercept_ ** 2))


def held_out_nll(proba, y):
    """Mean NLL of predicted probabilities (an exact zero counted at 1e-300)."""
    log_p = np.log(np.clip(proba[np.arange(y.shape[0]), y], 1e-300, None))
    return float(-log_p.mean())


def run_size(n_rows, n_classes, repeat, single_run, probmetrics):
    logits, y = token_logits(2 * n_rows, n_classes, seed=n_classes + n_rows)
    train, test = slice(0, n_rows), slice(n_rows, None)
    factories = {"skcal VectorScaling": VectorScaling}
    if single_run:
        factories["skcal VectorScaling, one L-BFGS run"] = SingleRun
    if probmetrics:
        try:
            ProbmetricsVector()
            factories["probmetrics VectorScalingCalibrator"] = ProbmetricsVector
        except ImportError as exc:
            print(f"probmetrics not available ({exc}); pip install '.[benchmarks]'")
    factories["skcal TemperatureScaling"] = TemperatureScaling
    times, fitted = {name: [] for name in factories}, {}
    for _ in range(repeat):
        for name, factory in factories.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted[name] = factory().fit(logits[train], y[train])
            times[name].append(time.perf_counter() - start)
    objectives = {name: penalised_objective(model, logits[train], y[train])
                  for name, model in fitted.items() if isinstance(model, VectorScaling)}
    best = min(objectives.values())
    rows = []
    for name, model in fitted.items():
        proba = model.predict_proba(logits[test])
        rows.append((name, statistics.median(times[name]), getattr(model, "n_iter_", None),
                     objectives.get(name, np.nan) - best, held_out_nll(proba, y[test])))
    absent = n_classes - np.unique(y[train]).shape[0]
    return rows, absent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x32000", "4000x32000", "1500x5000"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-single-run", action="store_true",
                        help="leave out the single L-BFGS run (it takes minutes)")
    parser.add_argument("--probmetrics", action="store_true",
                        help="also fit probmetrics' vector scaling (504 s at 1500 x 5000)")
    parser.add_argument("--rst", metavar="OUT", help="also write the table as reStructuredText")
    args = parser.parse_args()
    lines = []
    for size in args.sizes:
        n_rows, n_classes = map(int, size.split("x"))
        rows, absent = run_size(n_rows, n_classes, args.repeat, not args.no_single_run,
                                args.probmetrics)
        print(f"\n{n_rows} x {n_classes} float32 logits ({absent} classes absent from the "
              f"calibration rows), median of {args.repeat}")
        print(f"{'fit':<40}{'seconds':>9}{'iter':>6}{'objective - best':>18}{'held-out NLL':>14}")
        for name, seconds, n_iter, gap, nll in rows:
            iterations = "" if n_iter is None else str(n_iter)
            gap_text = "" if np.isnan(gap) else f"{gap:.1e}"
            print(f"{name:<40}{seconds:>9.2f}{iterations:>6}{gap_text:>18}{nll:>14.4f}")
            lines.append(f"   * - {n_rows} x {n_classes}\n     - {name}\n     - {seconds:.2f}\n"
                         f"     - {iterations}\n     - {gap_text}\n     - {nll:.4f}")
    if args.rst:
        header = (".. list-table::\n   :header-rows: 1\n\n   * - rows x classes\n     - fit\n"
                  "     - seconds\n     - iterations\n     - objective above the lowest\n"
                  "     - held-out NLL\n")
        with open(args.rst, "w") as out:
            out.write(header + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Fit time and held-out NLL of every calibration map, beside the closest peers.

    python benchmarks/bench_maps.py [--repeat 3] [--binary] [--wide] [--rst OUT]
                                    [--readme README.md]

Peers, when installed (``pip install ".[benchmarks]"``; a missing one is reported
and skipped): scikit-learn's temperature scaling, probmetrics' temperature,
vector and matrix scaling, netcal's temperature scaling, isotonic regression and
histogram binning (equal-width bins, its only kind: beside skcal's
``strategy='uniform'``, while skcal's default equal-mass bins have no peer), and
the betacal package for beta calibration. Everyone gets the same float64
probabilities of a synthetic overconfident model (labels drawn from
softmax(z / 2)); fits use 10000 rows and NLL is measured on 10000 other rows.
Beta calibration is binary (betacal has no multiclass mode): its rows use the
binary problem "class 0 against the rest". Times are medians over --repeat runs;
skcal's fits alternate with the peer's (and vector scaling's with temperature
scaling's), and a speed-up is the median of the paired ratios, since the
machine's speed drifts; each of those fits starts after a pause of
SETTLE_SECONDS, so that the BLAS threads the other library's fit woke have gone
idle.

``--binary`` adds the binary maps at 10^4, 10^5 and 10^6 rows (positive-class
probabilities ``p ~ U(0.001, 0.999)``, labels drawn with probability ``p^2``):
beta calibration beside betacal, Platt scaling beside scikit-learn's sigmoid
calibration (``sklearn.calibration._SigmoidCalibration``, the map of
``CalibratedClassifierCV(method='sigmoid')``) and isotonic calibration beside
``sklearn.isotonic.IsotonicRegression``, with peak extra memory (tracemalloc).

``--wide`` adds the one-vs-rest maps on 20000 x 1000 float32 logits (N(0, 3^2),
labels drawn at temperature 2): fit time, peak extra memory as a multiple of the
input, and the time as a multiple of K times the same map's binary fit on one
class's problem at the same number of rows.

``--rst OUT`` writes every table for the documentation's benchmarks page;
``--readme README.md`` writes the 10000-row table and the 20000 x 1000
temperature and vector scaling rows into the README, between its
``bench_maps`` markers.
"""

import argparse
import functools
import statistics
import time
import warnings

import numpy as np

from skcal import (
    BetaCalibration,
    HistogramBinning,
    IsotonicCalibration,
    MatrixScaling,
    PlattScaling,
    TemperatureScaling,
    VectorScaling,
)
from skcal.metrics import nll

from bench_fit import peak_memory  # the fit benchmark's tracemalloc peak


def overconfident_probabilities(n_rows, n_classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=(n_rows, n_classes))
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=1, keepdims=True), y


UNIFORM_HISTOGRAM = "HistogramBinning uniform"


def peers():
    """skcal map name -> [(peer name, factory of an unfitted peer taking probabilities)]."""
    found = {}

    def add(name, peer, factory):
        found.setdefault(name, []).append((peer, factory))

    add("TemperatureScaling", "sklearn", _SklearnTemperature)
    try:
        from probmetrics.calibrators.logistic import (
            MatrixScalingCalibrator,
            VectorScalingCalibrator,
        )
        from probmetrics.calibrators.temperature_scaling import TemperatureScalingCalibrator

        add("TemperatureScaling", "probmetrics", TemperatureScalingCalibrator)
        add("VectorScaling", "probmetrics", VectorScalingCalibrator)
        add("MatrixScaling", "probmetrics", MatrixScalingCalibrator)
    except ImportError as exc:
        print(f"probmetrics not available ({exc}); pip install '.[benchmarks]'")
    try:
        import betacal

        add("BetaCalibration", "betacal", _BetacalAdapter)
        del betacal
    except ImportError:
        print("betacal not available; pip install '.[benchmarks]'")
    try:
        from netcal.binning import HistogramBinning as NetcalHistogram
        from netcal.binning import IsotonicRegression as NetcalIsotonic
        from netcal.scaling import TemperatureScaling as NetcalTemperature

        add("TemperatureScaling", "netcal", lambda: _NetcalAdapter(NetcalTemperature()))
        add("IsotonicCalibration", "netcal", lambda: _NetcalAdapter(NetcalIsotonic()))
        # netcal bins by equal width only (its equal_intervals=False is not
        # implemented): the same job as skcal's strategy='uniform'
        add(UNIFORM_HISTOGRAM, "netcal", lambda: _NetcalAdapter(NetcalHistogram()))
    except ImportError as exc:
        print(f"netcal not available ({exc}); pip install '.[benchmarks]'")
    return found


class _SklearnTemperature:
    """scikit-learn's temperature map (``CalibratedClassifierCV(method='temperature')``)
    on the log-probabilities."""

    def fit(self, P, y):
        from sklearn.calibration import _TemperatureScaling

        self.model_ = _TemperatureScaling().fit(np.log(P), y)
        return self

    def predict_proba(self, P):
        return self.model_.predict(np.log(P))


class _BetacalAdapter:
    """betacal's binary beta calibration behind fit(P, y) / predict_proba(P)."""

    def fit(self, P, y):
        import betacal

        self.model_ = betacal.BetaCalibration(parameters="abm").fit(P[:, 1], y)
        return self

    def predict_proba(self, P):
        p = self.model_.predict(P[:, 1])
        return np.column_stack([1 - p, p])


class _NetcalAdapter:
    """A netcal calibrator behind fit(P, y) / predict_proba(P); its outputs are
    clipped away from 0 and renormalised (one-vs-rest maps do not sum to 1)."""

    def __init__(self, model):
        self.model = model

    def fit(self, P, y):
        self.model.fit(P, y)
        return self

    def predict_proba(self, P):
        q = np.clip(np.asarray(self.model.transform(P), dtype=np.float64), 1e-15, 1)
        return q / q.sum(axis=1, keepdims=True)


# OpenBLAS keeps its worker threads spinning for about 0.1 s after a call. A fit
# timed right after another library's shares the cores with them: on a 2-core
# machine, beta calibration at 10^5 rows (skcal's or betacal's) ran 2 to 5 times
# slower after the other's fit. Alternated runs start after this pause; repeated
# fits of one map (as K binary fits would run) do not.
SETTLE_SECONDS = 0.2


def timed(run):
    """``(seconds, run())``, timed after :data:`SETTLE_SECONDS` of rest."""
    time.sleep(SETTLE_SECONDS)
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def median_fit(factory, P, y, repeat):
    seconds, fitted = [], None
    for _ in range(repeat):
        model = factory()
        start = time.perf_counter()
        fitted = model.fit(P, y)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), fitted


def alternated(run_ours, run_peer, repeat):
    """``run_ours()`` and ``run_peer()`` alternated ``repeat`` times (the
    machine's speed drifts), after one untimed run of each (first calls, caches):
    our median time, the peer's, the median of the per-pair ratios (peer over
    ours), and the last results of both."""
    run_ours(), run_peer()
    pairs, results = [], None
    for _ in range(repeat):
        ours_seconds, ours = timed(run_ours)
        peer_seconds, peer = timed(run_peer)
        pairs.append((ours_seconds, peer_seconds))
        results = ours, peer
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(b / a for a, b in pairs), results)


def paired_fits(ours, peer, P, y, repeat):
    """:func:`alternated` fits of two calibrator factories on ``(P, y)``."""
    return alternated(lambda: ours().fit(P, y), lambda: peer().fit(P, y), repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--binary", action="store_true",
                        help="also the binary maps at 10^4, 10^5 and 10^6 rows")
    parser.add_argument("--rst", metavar="OUT",
                        help="also write the tables as reStructuredText")
    parser.add_argument("--wide", action="store_true",
                        help="also the one-vs-rest maps on 20000 x 1000 logits")
    parser.add_argument("--readme", metavar="README",
                        help="also write the main tables into README's bench_maps section")
    args = parser.parse_args()
    binary_table, wide_table, table = [], [], []
    if args.binary:
        binary_rows(args.repeat, binary_table)
        print()
    if args.wide:
        wide_rows(args.repeat, wide_table)
        print()
    available = peers()
    ours = {
        "TemperatureScaling": TemperatureScaling,
        "VectorScaling": VectorScaling,
        "MatrixScaling": MatrixScaling,
        "PlattScaling": PlattScaling,
        "BetaCalibration": BetaCalibration,
        "IsotonicCalibration": IsotonicCalibration,
        "HistogramBinning": HistogramBinning,  # equal-mass bins, the default
        UNIFORM_HISTOGRAM: functools.partial(HistogramBinning, strategy="uniform"),
    }
    header = (
        f"{'map':<25}{'size':>11}{'skcal s':>9}{'peer':>13}{'peer s':>9}{'speed-up':>10}"
        f"{'NLL skcal':>11}{'NLL peer':>10}"
    )
    print(header)
    print("-" * len(header))
    for n_classes in (10, 100):
        P_fit, y_fit = overconfident_probabilities(10_000, n_classes, seed=0)
        P_test, y_test = overconfident_probabilities(10_000, n_classes, seed=1)
        for name, Calibrator in ours.items():
            fit_P, fit_y, test_P, test_y, size = P_fit, y_fit, P_test, y_test, n_classes
            if name == "BetaCalibration":
                if n_classes != 10:
                    continue
                fit_P, test_P = _class_zero(P_fit), _class_zero(P_test)
                fit_y, test_y, size = (y_fit == 0).astype(int), (y_test == 0).astype(int), 2
            size_text = f"10000 x {size}"
            factory_ours = functools.partial(Calibrator, score_type="probabilities")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name not in available:
                    t_ours, model = median_fit(factory_ours, fit_P, fit_y, args.repeat)
                    nll_ours = nll(test_y, model.predict_proba(test_P))
                    print(f"{name:<25}{size_text:>11}{t_ours:>9.3f}{'-':>13}{'-':>9}{'-':>10}"
                          f"{nll_ours:>11.4f}{'-':>10}")
                    table.append((name, size_text, f"{t_ours:.3f}", "-", "", "",
                                  f"{nll_ours:.4f}", ""))
                    continue
                for peer_name, factory in available[name]:
                    t_ours, t_peer, speed_up, (model, peer) = paired_fits(
                        factory_ours, factory, fit_P, fit_y, args.repeat)
                    nll_ours = nll(test_y, model.predict_proba(test_P))
                    nll_peer = nll(test_y, np.asarray(peer.predict_proba(test_P)))
                    print(f"{name:<25}{size_text:>11}{t_ours:>9.3f}"
                          f"{peer_name:>13}{t_peer:>9.3f}{speed_up:>9.1f}x"
                          f"{nll_ours:>11.4f}{nll_peer:>10.4f}")
                    table.append((name, size_text, f"{t_ours:.3f}", peer_name,
                                  f"{t_peer:.3f}", f"{speed_up:.1f}x",
                                  f"{nll_ours:.4f}", f"{nll_peer:.4f}"))
    print("\nspeed-up: median over fits alternated with the peer's of the peer's time / "
          "skcal's; NLL on 10000 held-out rows")
    if args.rst:
        write_rst(args.rst, args.repeat, binary_table, wide_table, table)
    if args.readme:
        write_readme(args.readme, args.repeat, wide_table, table)


def write_readme(path, repeat, wide_table, table):
    from tables import markdown_table, replace_section

    header = ("map", "size", "skcal s", "peer", "peer s", "speed-up", "NLL skcal", "NLL peer")
    scaling = [row[:3] + row[4:] for row in wide_table if len(row) == 9]  # without "vs TS"
    lines = markdown_table(header, table + scaling)
    lines += ["", f"Medians of {repeat} fits on float64 probabilities of a synthetic "
              "overconfident model, each alternated with the peer's; speed-up is the median "
              "of the peer's time over skcal's; NLL on 10000 held-out rows (in-sample at "
              "20000 x 1000)."]
    replace_section(path, "bench_maps", lines)


def write_rst(path, repeat, binary_table, wide_table, table):
    from tables import rst_table, write_text

    lines = []
    if binary_table:
        lines += [f"Binary maps, medians of {repeat} fits, each alternated with the peer's "
                  "(speed-up: the median of the peer's time over skcal's); memory is the peak "
                  "extra over the scores; NLL on as many held-out rows:", ""]
        lines += rst_table(("map", "rows", "skcal s", "peer", "peer s", "speed-up",
                            "skcal memory", "peer memory", "NLL skcal", "NLL peer"),
                           binary_table)
    if wide_table:
        ovr = [row for row in wide_table if len(row) == 7]
        scaling = [row for row in wide_table if len(row) == 9]
        lines += [f"One-vs-rest maps on 20000 x 1000 float32 logits, medians of {repeat} fits; "
                  "peak memory over the input's size; time over 1000 times the binary fit "
                  "of one class's problem:", ""]
        lines += rst_table(("map", "size", "skcal s", "peak memory", "binary fit",
                            "vs K x binary", "NLL"), ovr)
        lines += [f"Temperature and vector scaling on the same logits, medians of {repeat} "
                  "fits, beside the peers given the same probabilities (in-sample NLL); "
                  "vs TS: the median of vector scaling's fit time over temperature "
                  "scaling's, their fits alternated:", ""]
        lines += rst_table(("map", "size", "skcal s", "vs TS", "peer", "peer s", "speed-up",
                            "NLL skcal", "NLL peer"), scaling)
    lines += [f"Every map on 10000 rows, medians of {repeat} fits, each alternated with "
              "the peer's (speed-up: the median of the peer's time over skcal's); NLL on "
              "10000 held-out rows (a peer shows where installed):", ""]
    lines += rst_table(("map", "size", "skcal s", "peer", "peer s", "speed-up", "NLL skcal",
                        "NLL peer"), table)
    write_text(path, lines)


def _binary_peers():
    """skcal map name -> (peer name, fit(p, y) returning predict(p) -> probabilities)."""
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    found = {}
    try:
        import betacal

        def fit_betacal(p, y):
            model = betacal.BetaCalibration(parameters="abm").fit(p, y)
            return model.predict

        found["BetaCalibration"] = ("betacal", fit_betacal)
    except ImportError:
        print("betacal not available; pip install betacal")

    def fit_sigmoid(p, y):
        logit = np.log(p) - np.log1p(-p)
        model = _SigmoidCalibration().fit(logit, y)
        return lambda q: model.predict(np.log(q) - np.log1p(-q))

    def fit_isotonic(p, y):
        model = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p, y)
        return model.predict

    found["PlattScaling"] = ("sklearn sigmoid", fit_sigmoid)
    found["IsotonicCalibration"] = ("sklearn isotonic", fit_isotonic)
    return found


def binary_rows(repeat, table):
    ours = {"BetaCalibration": BetaCalibration, "PlattScaling": PlattScaling,
            "IsotonicCalibration": IsotonicCalibration}
    available = _binary_peers()
    header = (f"{'binary map':<21}{'rows':>9}{'skcal s':>9}{'peer':>18}{'peer s':>9}"
              f"{'speed-up':>10}{'mem skcal':>11}{'mem peer':>10}{'NLL skcal':>11}{'NLL peer':>10}")
    print(header)
    print("-" * len(header))
    for n in (10**4, 10**5, 10**6):
        rng = np.random.default_rng(n)
        p, p_test = rng.uniform(0.001, 0.999, size=(2, n))
        y = (rng.random(n) < p**2).astype(int)
        y_test = (rng.random(n) < p_test**2).astype(int)
        size = p.nbytes
        for name, Calibrator in ours.items():
            factory_ours = functools.partial(Calibrator, score_type="probabilities")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peer_name, fit_peer = available.get(name, ("-", None))
                if fit_peer is None:
                    t_ours, _ = median_fit(factory_ours, p, y, repeat)
                    print(f"{name:<21}{n:>9}{t_ours:>9.3f}{peer_name:>18}")
                    table.append((name, n, f"{t_ours:.3f}", "-", "", "", "", "", "", ""))
                    continue
                t_ours, t_peer, speed_up, (model, predict) = alternated(
                    lambda: factory_ours().fit(p, y), lambda f=fit_peer: f(p, y), repeat)
                nll_ours = nll(y_test, model.predict_proba(p_test))
                memory_ours = peak_memory(lambda: factory_ours().fit(p, y))
                memory_peer = peak_memory(lambda: fit_peer(p, y))
                q = np.clip(predict(p_test), 0, 1)
                nll_peer = nll(y_test, np.column_stack([1 - q, q]))
            print(f"{name:<21}{n:>9}{t_ours:>9.3f}{peer_name:>18}{t_peer:>9.3f}"
                  f"{speed_up:>9.1f}x{memory_ours / size:>10.1f}x{memory_peer / size:>9.1f}x"
                  f"{nll_ours:>11.4f}{nll_peer:>10.4f}")
            table.append((name, n, f"{t_ours:.3f}", peer_name, f"{t_peer:.3f}",
                          f"{speed_up:.1f}x", f"{memory_ours / size:.1f}x",
                          f"{memory_peer / size:.1f}x", f"{nll_ours:.4f}", f"{nll_peer:.4f}"))
    print("\nspeed-up: median over fits alternated with the peer's of the peer's time / "
          "skcal's; memory: peak extra over the scores; NLL on as many held-out rows")


def wide_rows(repeat, table):
    import tracemalloc

    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(20000, 1000)).astype(np.float32)
    y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape).astype(np.float32), axis=1)
    others = np.log(np.exp(logits[:, 1:].astype(np.float64)).sum(axis=1))
    score = logits[:, 0] - others  # class 0 against the rest, as one binary problem
    header = (f"{'one-vs-rest map':<21}{'size':>13}{'skcal s':>9}{'peak memory':>13}"
              f"{'binary s':>10}{'vs K x binary':>15}{'NLL':>14}")
    print(header)
    print("-" * len(header))
    for Calibrator in (PlattScaling, BetaCalibration, IsotonicCalibration, HistogramBinning):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds, model = median_fit(Calibrator, logits, y, repeat)
            tracemalloc.start()
            Calibrator().fit(logits, y)
            peak = tracemalloc.get_traced_memory()[1] / logits.nbytes
            tracemalloc.stop()
            binary, _ = median_fit(Calibrator, score, (y == 0).astype(int), max(repeat, 5))
            loss = nll(y, model.predict_proba(logits))
        ratio = seconds / (binary * logits.shape[1])
        name = Calibrator.__name__
        print(f"{name:<21}{'20000 x 1000':>13}{seconds:>9.2f}{peak:>12.2f}x{binary * 1e3:>8.2f}ms"
              f"{ratio:>14.1f}x{loss:>14.10f}")
        table.append((name, "20000 x 1000", f"{seconds:.2f}", f"{peak:.2f}x",
                      f"{binary * 1e3:.2f} ms", f"{ratio:.1f}x", f"{loss:.10f}"))
    print("\npeak memory: tracemalloc's peak over the float32 input's size; vs K x binary: "
          "the fit's time over 1000 binary fits of one class's problem")
    print()
    scaling_rows(logits, y, repeat, table)


def scaling_rows(logits, y, repeat, table):
    """Temperature and vector scaling on the wide logits, beside their peers;
    vector scaling's time also as a multiple of temperature scaling's."""
    available = peers()
    proba = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    size = f"{logits.shape[0]} x {logits.shape[1]}"
    print(f"{'map':<21}{'size':>13}{'skcal s':>9}{'vs TS':>7}{'peer':>13}{'peer s':>9}"
          f"{'speed-up':>10}{'NLL skcal':>11}{'NLL peer':>10}")
    with warnings.catch_warnings():  # vector over temperature scaling, fits alternated
        warnings.simplefilter("ignore")
        ts_seconds, vs_seconds, vs_over_ts, models = paired_fits(
            TemperatureScaling, VectorScaling, logits, y, repeat)
    fits = {"TemperatureScaling": (ts_seconds, 1.0, models[0]),
            "VectorScaling": (vs_seconds, vs_over_ts, models[1])}
    for name, (seconds, versus, model) in fits.items():
        loss = nll(y, model.predict_proba(logits))
        for peer_name, factory in available.get(name, []):
            if peer_name == "netcal":
                continue  # its temperature fit is a torch loop, minutes at this size
            peer_seconds, peer = median_fit(factory, proba, y, repeat)
            peer_loss = nll(y, np.asarray(peer.predict_proba(proba)))
            print(f"{name:<21}{size:>13}{seconds:>9.2f}{versus:>6.1f}x{peer_name:>13}"
                  f"{peer_seconds:>9.2f}{peer_seconds / seconds:>9.1f}x{loss:>11.4f}"
                  f"{peer_loss:>10.4f}")
            table.append((name, size, f"{seconds:.2f}", f"{versus:.1f}x", peer_name,
                          f"{peer_seconds:.2f}", f"{peer_seconds / seconds:.1f}x",
                          f"{loss:.4f}", f"{peer_loss:.4f}"))


def _class_zero(P):
    p = P[:, 0]
    return np.column_stack([1 - p, p])


if __name__ == "__main__":
    main()

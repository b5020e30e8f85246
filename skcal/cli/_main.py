"""The ``skcal`` command line: ``skcal compare``, ``fit``, ``predict``, ``compare-models``,
``monitor`` and ``demo``."""

import argparse
import sys
import warnings

import numpy as np

from ..utils._files import write_atomically, write_json
from ..utils._version import __version__
from ._numbers import integer_at_least, n_jobs, seed
from ._paths import check_distinct_outputs, image_format, image_path, output_path
from ._reading import (CommandError, as_labels, check_told_score_type, read_array,
                       scores_by_name)


def _candidates(methods):
    """The calibrators named on the command line, or None for
    compare_calibrators' default methods."""
    from ..calibrators._registry import calibrator_class

    if not methods:
        return None
    chosen = {}
    for method in methods:
        cls = calibrator_class(method)
        if cls.__name__ in chosen:
            raise CommandError(f"--methods names {cls.__name__} twice ({method!r})")
        chosen[cls.__name__] = cls()
    return chosen


def _method_names():
    from ..calibrators._registry import CALIBRATORS

    return " ".join(entry.name for entry in CALIBRATORS)


def report_score_type(scores, score_type, shape=None):
    """Say how the scores are read (``shape``, the file's, when the rows are read
    from token scores); an error for --probabilities that are not, a warning for
    --logits whose rows sum to 1."""
    from ..rows._score_rows import score_rows

    check_told_score_type(scores, score_type, "SCORES")
    _, resolved = score_rows(scores, score_type, name="SCORES")
    shape = " x ".join(str(n) for n in (shape or scores.shape))
    why = {
        ("auto", "probabilities"): " (every row lies in the probability simplex)",
        ("auto", "logits"): " (not every row is a probability vector)",
    }.get((score_type, resolved), " (as told)")
    print(f"SCORES: {shape} {np.dtype(scores.dtype).name}, read as {resolved}{why}.")


def _make_calibrator(method, score_type):
    """A fresh calibrator for the command line's ``METHOD`` name."""
    (calibrator,) = _candidates([method]).values()
    return calibrator.set_params(score_type=score_type)


def _fit(args):
    from ._fit import run_fit

    return run_fit(args, read_array=read_array, as_labels=as_labels,
                   make_calibrator=_make_calibrator, report_score_type=report_score_type,
                   error=CommandError)


def _monitor(args):
    from ._monitor import run_monitor

    return run_monitor(args, error=CommandError)


def _predict(args):
    from ._predict import run_predict

    return run_predict(args, read_array=read_array, as_labels=as_labels, error=CommandError)


def _save_plot(comparison, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print(
            f"(reliability diagram not written: {path} needs matplotlib, "
            'pip install "skcal[plot]")'
        )
        return
    displays = comparison.plot()
    figure = displays[0].figure_
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=110,
                                                           format=image_format(path)))
    import matplotlib.pyplot as plt

    plt.close(figure)
    print(f"Reliability diagrams written to {path}")


def _compare_models(args):
    from ._compare_models import run

    return run(args, read_array=read_array, as_labels=as_labels, error=CommandError)


def _compare(args):
    from ..comparison._compare import compare_calibrators

    # the arguments first: a mistyped name fails before a large file is read
    candidates = _candidates(args.methods)
    if (args.test_scores is None) != (args.test_labels is None):
        raise CommandError("give both --test-scores and --test-labels, or neither")
    scores, names = read_array(args.scores, what="SCORES", mmap=True, names=True)
    labels = as_labels(read_array(args.labels, what="LABELS", rows=scores.shape[0]))
    by_name = scores_by_name(scores, names, labels, "SCORES")
    test = None
    if args.test_scores is not None:
        test_scores, names = read_array(args.test_scores, what="--test-scores", names=True)
        test_labels = as_labels(read_array(args.test_labels, what="--test-labels",
                                           rows=np.shape(test_scores)[0]))
        test = (scores_by_name(test_scores, names, test_labels, "--test-scores"), test_labels)
    if scores.shape[0] != labels.shape[0]:
        raise CommandError(
            f"SCORES has {scores.shape[0]} rows but LABELS has {labels.shape[0]}"
        )
    if test is not None:
        _check_test_files(scores, *test, args)
    groups = None if args.groups is None else read_array(args.groups, what="--groups",
                                                         rows=labels.shape[0])
    if groups is not None and np.shape(groups)[0] != labels.shape[0]:
        raise CommandError(f"--groups {args.groups} has {np.shape(groups)[0]} rows but LABELS "
                           f"has {labels.shape[0]}")
    score_type = "probabilities" if args.probabilities else "logits" if args.logits else "auto"
    from ..rows._scores import flatten_leading
    from ._calibrated_pass import weights_per_row

    flat, leading = flatten_leading(scores)
    sample_weight = weights_per_row(args.sample_weight, read_array, scores.shape, leading,
                                    CommandError)
    if sample_weight is not None and leading is not None:  # token weights, as the labels
        sample_weight = sample_weight.reshape(leading)
    report_score_type(flat, score_type, shape=scores.shape)
    comparison = compare_calibrators(
        by_name,
        labels,
        calibrators=candidates,
        cv=args.cv,
        groups=groups,
        sample_weight=sample_weight,
        score_type=score_type,
        X_test=None if test is None else test[0],
        y_test=None if test is None else test[1],
        random_state=args.seed,
        n_jobs=args.n_jobs,
        ignore_index=args.ignore_index,
    )
    print(comparison)
    if args.json:
        write_json(args.json, comparison.to_dict())
        print(f"Results written to {args.json}")
    if args.plot:
        _save_plot(comparison, args.plot)
    if args.calibrator:
        _save_recommended(comparison, args.calibrator)
    return 0


def _save_recommended(comparison, path):
    """The recommended method, fitted on all the rows, saved as JSON; none when no
    calibration is recommended (an existing file is left as it is)."""
    from ..calibrators._persistence import save_calibrator
    from ..comparison._result import BASELINE

    if comparison.recommended_ == BASELINE:
        print(f"No calibration is recommended: {path} is not written.")
        return
    save_calibrator(comparison.recommended_calibrator_, path)
    print(f"{comparison.recommended_}, fitted on all the rows, saved to {path}")


def _demo(args):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ..comparison._compare import compare_calibrators

    X, y = load_digits(return_X_y=True)
    print(
        "Logistic regression with almost no regularisation (C=1000) on scikit-learn's "
        f"digits:\n{X.shape[0]} images, 10 classes. Every method is scored on folds it "
        "was not fitted on;\nthe classifier itself is cross-fitted inside each "
        "training fold.\n"
    )
    overconfident = make_pipeline(StandardScaler(), LogisticRegression(C=1000, max_iter=5000))
    comparison = compare_calibrators(X, y, estimator=overconfident, random_state=args.seed)
    print(comparison)

    if args.plot:
        _save_plot(comparison, args.plot)
    return 0


def _add_score_kind(parser):
    """--probabilities | --logits: how SCORES are read (by default, as they look)."""
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--probabilities", action="store_true", help="SCORES are probabilities")
    kind.add_argument("--logits", action="store_true", help="SCORES are logits")


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skcal",
        description="Probability calibration, fitted and judged by negative log-likelihood.",
    )
    parser.add_argument("--version", action="version", version=f"skcal {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    compare = commands.add_parser(
        "compare",
        help="rank calibration methods on score files by held-out NLL",
        description="Rank calibration methods on SCORES (logits or probabilities) and "
        "LABELS by held-out NLL. Files: .npy, .npz (FILE.npz:NAME picks an array) or "
        ".csv (a first row of column names is left out above numbers, and above text "
        "labels or groups one row longer than the scores; scores' columns named after "
        "the classes, dog,cat,bird, are read as the classes they name, in any order); "
        "nothing is unpickled.",
    )
    compare.add_argument("scores", metavar="SCORES",
                         help="(n_samples, n_classes) or (n_samples,); token scores "
                         "(batch, length, n_classes), each sequence a group")
    compare.add_argument("labels", metavar="LABELS",
                         help="(n_samples,) true labels, (batch, length) for tokens")
    _add_score_kind(compare)
    compare.add_argument(
        "--methods", nargs="+", metavar="METHOD",
        help=f"subset of: {_method_names()} (default: all)",
    )
    compare.add_argument("--cv", type=integer_at_least(2), default=5,
                         help="number of folds (default 5)")
    compare.add_argument("--groups", metavar="FILE",
                         help="the group (patient, document) of each row, or of each "
                         "sequence: kept whole in the folds, and the standard errors "
                         "cluster-robust over them")
    compare.add_argument("--ignore-index", type=int, default=None, metavar="LABEL",
                         help="leave out rows with this label (-100 for padding)")
    compare.add_argument("--sample-weight", metavar="FILE",
                         help="each row's weight, in the fits and the held-out NLL (the "
                         "shape of LABELS)")
    compare.add_argument("--test-scores", metavar="S", help="scores of a test set")
    compare.add_argument("--test-labels", metavar="L", help="labels of the test set")
    compare.add_argument("--json", metavar="OUT", type=output_path,
                         help="write the results as JSON")
    compare.add_argument("--plot", metavar="OUT.png", type=image_path,
                         help="write reliability diagrams")
    compare.add_argument("--calibrator", metavar="PATH.json", type=output_path,
                         help="save the recommended method, fitted on all the rows, as "
                         "JSON (as skcal fit --calibrator does); not written when no "
                         "calibration is recommended")
    compare.add_argument("--seed", type=seed, default=0, help="fold shuffling seed")
    compare.add_argument("--n-jobs", type=n_jobs, default=None,
                         help="folds evaluated in parallel (default 1)")
    compare.set_defaults(run=_compare)

    from ._fit import add_parser as add_fit

    fit = add_fit(commands, _add_score_kind, _method_names())
    fit.set_defaults(run=_fit)

    from ._compare_models import add_parser as add_compare_models

    add_compare_models(commands, _add_score_kind, _method_names()).set_defaults(run=_compare_models)

    from ._monitor_arguments import add_parser as add_monitor

    add_monitor(commands, _method_names()).set_defaults(run=_monitor)

    from ._predict import add_parser as add_predict

    add_predict(commands).set_defaults(run=_predict)

    demo = commands.add_parser(
        "demo", help="compare calibrators for an overconfident classifier on built-in data"
    )
    demo.add_argument(
        "--plot", metavar="OUT.png", default="skcal-demo.png", type=image_path,
        help="reliability diagrams (default skcal-demo.png; '' to skip)",
    )
    demo.add_argument("--seed", type=seed, default=0, help="fold shuffling seed")
    demo.set_defaults(run=_demo)
    return parser


def _check_test_files(scores, test_scores, test_labels, args):
    """--test-scores and --test-labels: a label per row, and the columns of SCORES."""
    if np.shape(test_scores)[0] != np.shape(test_labels)[0]:
        raise CommandError(f"--test-scores {args.test_scores} has {np.shape(test_scores)[0]} "
                           f"rows but --test-labels {args.test_labels} has "
                           f"{np.shape(test_labels)[0]} labels")
    columns = [1 if np.ndim(a) == 1 else np.shape(a)[1] for a in (test_scores, scores)]
    if columns[0] != columns[1]:
        raise CommandError(f"--test-scores {args.test_scores} has {columns[0]} score columns "
                           f"but SCORES has {columns[1]}; give scores of the same classes")


# the commands whose scores, ``X`` to the library, are their argument SCORES
_SCORES_ARE_X = ("compare", "fit", "predict")


def _as_named_here(message, command):
    """A library message about ``X`` (the scores of a fit or a prediction, which
    a score file read block by block meets only as it is read) with the scores
    named as the command names them.

    Examples
    --------
    >>> _as_named_here("X contains a non-finite score (nan at row 7).", "fit")
    'SCORES contains a non-finite score (nan at row 7).'
    >>> _as_named_here("X contains a non-finite score (nan at row 7).", "monitor")
    'X contains a non-finite score (nan at row 7).'
    """
    if command in _SCORES_ARE_X and message.startswith(("X ", "X (")):
        return "SCORES" + message[1:]
    return message


def _warning_printer(command):
    """``warnings.showwarning`` for the command line: one line on stderr, as its
    errors are, without Python's file and line."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"skcal {command}: warning: {message}", file=sys.stderr)

    return show


def main(argv=None):
    """Run the ``skcal`` command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    try:
        check_distinct_outputs(args)
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(args.command)
            return args.run(args)
    except (CommandError, ValueError, ImportError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"skcal {args.command}: error: {_as_named_here(message, args.command)}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

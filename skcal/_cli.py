"""The ``skcal`` command line."""

import argparse
import sys
import time


def _demo(args):
    """Calibrate a miscalibrated classifier on a dataset shipped with scikit-learn."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.ensemble import RandomForestClassifier

    from . import PlattScaling, TemperatureScaling, VectorScaling
    from .metrics import expected_calibration_error, nll

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=args.random_state
    )
    print(
        "A random forest on scikit-learn's digits (10 classes): "
        f"{len(y_train)} training and {len(y_test)} test images.\n"
        "Each calibrator wraps the classifier with 5-fold cross-fitting; "
        "figures are on the test half.\n"
    )
    rows = []
    start = time.perf_counter()
    def forest():
        return RandomForestClassifier(n_estimators=100, random_state=args.random_state)

    uncalibrated = forest().fit(X_train, y_train)
    rows.append(("uncalibrated", uncalibrated, time.perf_counter() - start))
    for calibrator in (TemperatureScaling, VectorScaling, PlattScaling):
        start = time.perf_counter()
        fitted = calibrator(forest()).fit(X_train, y_train)
        rows.append((calibrator.__name__, fitted, time.perf_counter() - start))

    header = f"{'method':<20}{'NLL (nats)':>12}{'ECE (%)':>10}{'accuracy':>10}{'fit (s)':>9}"
    print(header)
    print("-" * len(header))
    for name, model, seconds in rows:
        proba = model.predict_proba(X_test)
        print(
            f"{name:<20}{nll(y_test, proba):>12.4f}"
            f"{100 * expected_calibration_error(y_test, proba):>10.2f}"
            f"{np.mean(model.classes_[proba.argmax(axis=1)] == y_test):>10.3f}"
            f"{seconds:>9.2f}"
        )
    temperature = rows[1][1].temperature_
    verdict = "overconfident" if temperature > 1 else "underconfident"
    print(f"\nFitted temperature: {temperature:.2f} (the forest was {verdict}).")
    return 0


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="skcal", description="Probability calibration, fitted and judged by NLL."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="calibrate an overconfident classifier on built-in data"
    )
    demo.add_argument("--random-state", type=int, default=0, help="seed of the split")
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None):
    """Run the ``skcal`` command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

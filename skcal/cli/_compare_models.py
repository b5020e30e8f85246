"""``skcal compare-models``: models or checkpoints ranked by held-out NLL, from
score files, with standard errors over documents when ``--groups`` is given."""

import math

import numpy as np

from ..rows._column_classes import column_classes, plain, sorting_order
from ..utils._files import write_atomically, write_json
from ._calibrated_pass import weights_per_row
from ._numbers import integer_at_least, seed
from ._paths import image_format, image_path, output_path
from ._reading import check_told_score_type, scores_by_name


def add_parser(commands, add_score_kind, method_names):
    """The ``compare-models`` subcommand on the parsers ``commands``."""
    parser = commands.add_parser(
        "compare-models",
        help="rank models or checkpoints by held-out NLL on score files",
        description="Rank models by held-out NLL on the same LABELS. Each NAME=FILE gives "
        "a model's scores (logits or probabilities, (n, n_classes) or (..., vocabulary) "
        "token logits; .npy files are memory-mapped and read in row blocks, .zarr arrays "
        "too; .csv columns named after the classes, dog,cat,bird, are read as the "
        "classes they name, in any order, and other columns in the classes' sorted "
        "order, each model as it would be alone). The difference of each model to the best "
        "comes with its paired standard "
        "error and p-value: over documents with --groups (cluster-robust, or a bootstrap "
        "of documents with --bootstrap N), else over the sequences of LABELS of shape "
        "(batch, length), or over rows taken as independent. With --calibrate METHOD, "
        "the models are ranked after METHOD fitted on the other folds of the same rows "
        "(groups kept whole), the same folds for every model: what one temperature "
        "cannot fix, with each model's raw NLL beside it.",
    )
    parser.add_argument("models", nargs="+", metavar="NAME=FILE",
                        help="a model's name and its score file")
    parser.add_argument("labels", metavar="LABELS", help="true labels (tokens)")
    parser.add_argument("--groups", metavar="FILE",
                        help="the group (document, sequence id) of each row, or of each "
                        "sequence: shape (batch,) for LABELS of shape (batch, length)")
    parser.add_argument("--ignore-index", type=int, default=None, metavar="LABEL",
                        help="leave out rows with this label (-100 for padding)")
    parser.add_argument("--sample-weight", metavar="FILE",
                        help="each row's weight in the NLL (the shape of LABELS)")
    parser.add_argument("--bootstrap", type=integer_at_least(2), default=None, metavar="N",
                        help="standard errors from N bootstrap draws of groups")
    parser.add_argument("--seed", type=seed, default=0,
                        help="seed of the bootstrap and of --calibrate's folds (default 0)")
    parser.add_argument("--calibrate", metavar="METHOD",
                        help=f"rank after this calibration, cross-fitted: one of {method_names}")
    parser.add_argument("--cv", type=integer_at_least(2), default=5,
                        help="folds of --calibrate (default 5)")
    add_score_kind(parser)
    parser.add_argument("--json", metavar="OUT", type=output_path,
                        help="write the ranked table as JSON")
    parser.add_argument("--plot", metavar="OUT.png", type=image_path,
                        help="draw each model's difference to the best with its interval")
    return parser


def run(args, *, read_array, as_labels, error):
    from ..comparison._calibrated_models import checked_calibration
    from ..comparison._models import compare_models

    if args.calibrate is None and args.cv != 5:
        raise error("--cv sets the folds of --calibrate; give --calibrate METHOD too")
    try:  # a mistyped name fails before a large file is read
        calibrate = None if args.calibrate is None else checked_calibration(args.calibrate)
    except ValueError as exc:
        raise error(f"--calibrate: {exc}") from None
    models, names = {}, {}
    for spec in args.models:
        name, separator, path = spec.partition("=")
        if not separator or not name or not path:
            raise error(f"{spec!r}: give each model as NAME=FILE (for example "
                        "step-1000=logits_1000.npy)")
        if name in models:
            raise error(f"the model name {name!r} is given twice")
        models[name], names[name] = read_array(path, what=name, mmap=True, names=True)
    if len(models) < 2:
        raise error("give at least two models (NAME=FILE NAME=FILE ...)")
    first = next(iter(models.values()))
    labels = as_labels(read_array(args.labels, what="LABELS", rows=(
        math.prod(np.shape(first)[:-1]) if np.ndim(first) > 1 else np.shape(first)[0])))
    for (name, scores), spec in zip(models.items(), args.models):
        n_rows = math.prod(np.shape(scores)[:-1]) if np.ndim(scores) > 1 else np.shape(scores)[0]
        if n_rows != np.size(labels):
            raise error(f"model {name!r} ({spec.partition('=')[2]}) has {n_rows} rows of "
                        f"scores but LABELS ({args.labels}) has {np.size(labels)} labels; "
                        "give every model's scores on the same rows as the labels")
    groups = None if args.groups is None else np.asarray(read_array(
        args.groups, what="--groups", rows=np.size(labels)))
    sample_weight = None
    if args.sample_weight is not None:  # one weight a label, token weights as the labels
        sample_weight = weights_per_row(
            args.sample_weight, read_array, np.shape(first),
            tuple(np.shape(first)[:-1]) if np.ndim(first) > 2 else None, error
        ).reshape(np.shape(labels))
    score_type = "probabilities" if args.probabilities else "logits" if args.logits else "auto"
    for (name, scores), spec in zip(models.items(), args.models):
        check_told_score_type(scores, score_type, f"model {name!r} ({spec.partition('=')[2]})")
    models = _read_by_name(models, names, labels, args)
    result = compare_models(models, labels, groups=groups, sample_weight=sample_weight,
                            ignore_index=args.ignore_index,
                            score_type=score_type, n_bootstrap=args.bootstrap,
                            random_state=args.seed, calibrate=calibrate,
                            cv=None if calibrate is None else args.cv)
    print(result)
    if args.json:
        write_json(args.json, {"best": result.best_, "ranking": result.ranking_,
                               "best_set": result.best_set_,
                               "se_method": result.se_method_, "n_rows": result.n_rows_,
                               "n_groups": result.n_groups_,
                               "calibration": result.calibration_,
                               "temperatures": _temperatures(result), "results": _finite(
                                   result.results_)})
        print(f"Results written to {args.json}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = result.plot()
        write_atomically(args.plot, lambda temporary: ax.figure.savefig(
            temporary, dpi=110, format=image_format(args.plot)))
        print(f"Plot written to {args.plot}")
    return 0


def _temperatures(result):
    """Each model's temperature per fold, with ``--calibrate temperature``, else None."""
    if result.calibration_ != "TemperatureScaling":
        return None
    return {name: [float(fit.temperature_) for fit in fits]
            for name, fits in result.calibrators_.items()}


def _finite(results):
    """The results with NaN as None (valid JSON)."""
    return {name: {key: None if isinstance(value, float) and math.isnan(value) else value
                   for key, value in numbers.items()} for name, numbers in results.items()}


def _read_by_name(models, names, labels, args):
    """Each model as it is read alone: a ``.csv`` whose first row names the
    classes (``dog,cat,bird``) as a DataFrame of those names, each column read as
    the class it names; others as they are (integer labels index the columns,
    other labels in sorted order). Where a model names its classes in another
    order than the sorted one, how the unnamed ones are read is said."""
    labels = np.asarray(labels).reshape(-1)
    if args.ignore_index is not None:
        labels = labels[labels != args.ignore_index]
    read = {name: scores_by_name(scores, names[name], labels, f"model {name!r}")
            for name, scores in models.items()}
    named = [name for name, scores in read.items() if scores is not models[name]]
    unnamed = [name for name in read if name not in named]
    classes = {name: column_classes(names[name], labels) for name in named} if unnamed else {}
    out_of_order = [name for name in classes if sorting_order(classes[name]) is not None]
    if out_of_order:
        specs = dict(spec.partition("=")[::2] for spec in args.models)
        first = out_of_order[0]
        in_order = sorted(str(plain(c)) for c in classes[first])
        one = len(unnamed) == 1
        print(f"Model {first!r} names its columns {', '.join(names[first])}; "
              f"{', '.join(f'{name!r} ({specs[name]})' for name in unnamed)} "
              f"{'has' if one else 'have'} no column names, so {'its' if one else 'their'} "
              f"columns are read in the classes' sorted order ({', '.join(in_order)}), as "
              f"{'it' if one else 'each'} would be alone; if they are in another order, "
              "write a first row naming the classes (.csv).")
    return read

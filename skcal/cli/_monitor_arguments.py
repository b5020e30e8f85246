"""The ``skcal monitor`` command's arguments."""

from ..monitoring._chunking import LATE_ROWS
from ._numbers import integer_at_least, open_probability, seconds
from ._paths import image_path, output_path, prometheus_textfile_path


def add_parser(commands, method_names):
    """The ``monitor`` subcommand on the parsers ``commands`` (``method_names``:
    the calibration methods, for ``--recalibrate``)."""
    monitor = commands.add_parser(
        "monitor",
        help="watch calibration drift over production files",
        description="Fit a calibration monitor on REFERENCE (or continue from --state), "
        "add each PRODUCTION file in order, print the chunk table and a verdict. Files: "
        ".npz with arrays 'scores', 'labels' (optional) and 'timestamps' (optional), or "
        ".csv / .parquet tables whose columns --scores, --labels and --timestamp name. "
        "A run holds a lock on --state for its whole read-update-write; a file already "
        "added (the same content) is skipped. Exit status: 1 when a chunk completed by "
        "this run is in alarm or late labels put an earlier chunk into alarm, else 0; 2 "
        "for an error (nothing is written or saved, but for the --store rows written "
        "before a --pushgateway push that failed, which a rerun replaces). The "
        "state file is replaced atomically.",
    )
    monitor.add_argument("reference", metavar="REFERENCE",
                         help="reference period (read only when --state does not exist yet)")
    monitor.add_argument("production", metavar="PRODUCTION", nargs="*",
                         help="production periods, in time order (none in a run that only "
                         "joins --late-labels to the monitor in --state)")
    monitor.add_argument("--chunk-size", type=integer_at_least(1),
                         help="rows per chunk (default 1000); with --chunk-period, about the "
                         "labelled rows a period holds, which the alarm thresholds are "
                         "simulated for")
    monitor.add_argument("--chunk-period", metavar="D",
                         help="time per chunk ('D', '6h', ...); needs timestamps")
    monitor.add_argument("--alpha", type=open_probability,
                         help="false-alarm probability over 100 chunks (default 0.05)")
    monitor.add_argument("--state", metavar="STATE.json", type=output_path,
                         help="load and save the monitor here (a run that continues "
                         "from it keeps its --chunk-size, --chunk-period and --alpha)")
    monitor.add_argument("--scores", default="proba_*", metavar="PATTERN",
                         help="score columns of a table: a pattern (default 'proba_*') or names "
                         "separated by commas (proba_cat,proba_dog), or one column "
                         "holding each row's array of scores (Parquet)")
    monitor.add_argument("--labels", default="label", metavar="COLUMN",
                         help="label column of a table (default 'label')")
    monitor.add_argument("--timestamp", default=None, metavar="COLUMN",
                         help="time column of a table")
    monitor.add_argument("--id-column", default=None, metavar="COLUMN",
                         help="id column of a table (.npz files carry an array 'ids'), to "
                         "join --late-labels by id")
    monitor.add_argument("--late-labels", nargs="+", metavar="FILE",
                         help="labels that arrived late: .npz with arrays 'ids' and 'labels', "
                         "or tables with --id-column and --labels columns")
    monitor.add_argument("--reprocess", action="store_true",
                         help="add a production file (or join a --late-labels file) whole "
                         "even if its content or rows were before (by default a repeat is "
                         "skipped: 'already processed'; a file that grew adds the rows it "
                         "gained)")
    monitor.add_argument("--late-rows", choices=LATE_ROWS, default="error",
                         help="rows of periods whose chunks are complete: an error (the "
                         "default), or left out and counted (drop)")
    monitor.add_argument("--lock-timeout", type=seconds, default=300.0, metavar="SECONDS",
                         help="how long to wait for another run holding STATE.json.lock "
                         "(default 300)")
    monitor.add_argument("--recalibrate", metavar="METHOD",
                         help=f"when the run ends in 'recalibrate', fit METHOD ({method_names})"
                         " on this run's labelled rows since the drift began (a temperature"
                         ": --late-labels' too, over the calibrator in place)")
    monitor.add_argument("--calibrator", metavar="PATH.json", type=output_path,
                         help="where the calibrator is saved; one already there is applied "
                         "to the raw scores before monitoring (the reference's too, on "
                         "the run that fits the monitor)")
    monitor.add_argument("--json", metavar="OUT", type=output_path,
                         help="write the table and state as JSON")
    monitor.add_argument("--plot", metavar="OUT.png", type=image_path, help="draw NLL per chunk")
    outputs = monitor.add_argument_group(
        "where operations teams look",
        "A store or push that fails ends the run with status 2 before anything is written "
        "or saved; rerunning writes the same rows again, without duplicates.")
    outputs.add_argument("--model", metavar="NAME",
                         help="the model's name in the store and the metrics' labels")
    outputs.add_argument("--store", metavar="URL",
                         help="write the chunks this run changed into a SQL database "
                         "(any SQLAlchemy URL: sqlite:///monitor.db, postgresql://...; "
                         "pip install \"skcal[sql]\"); needs --model")
    outputs.add_argument("--run-id", metavar="ID",
                         help="names this run in the store (default: a random id)")
    outputs.add_argument("--prometheus-textfile", metavar="PATH.prom",
                         type=prometheus_textfile_path,
                         help="write the latest chunk's metrics for node_exporter's textfile "
                         "collector, atomically; needs --model")
    outputs.add_argument("--pushgateway", metavar="URL",
                         help="push the latest chunk's metrics to a Prometheus Pushgateway "
                         "(http://host:9091); needs --model")
    outputs.add_argument("--report", metavar="PATH.html", type=output_path,
                         help="write a self-contained HTML report, atomically")
    return monitor

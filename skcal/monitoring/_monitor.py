"""CalibrationMonitor: is a deployed model's confidence drifting, and what to do about it."""

from numbers import Integral, Real

import numpy as np
from scipy.special import log_softmax
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ..rows._column_classes import column_classes
from ..rows._labels import encode_labels
from ..rows._score_rows import fit_score_rows, score_rows
from ..rows._scores import SCORE_TYPES
from ..rows._scratch import Scratch
from ._batches import add_late_labels, add_rows, record_batch, repeated_batch
from ._chunking import check_late_rows
from ._exports import MonitorExportsMixin
from ._fitted_params import check_fit_options, check_fitted_and_unchanged, fitted_params
from ._inputs import (check_served_scores, kept_score_columns, period_grid,
                      reference_on_host, score_columns_of, unpack)
from ._pending import empty_pending
from ._recalibration import calibrated_log_proba, served_reference
from ._results import MonitorResultsMixin
from ._row_sums import batch_summaries, log_proba_of
from ._statistics import derived
from ._thresholds import set_thresholds


class CalibrationMonitor(MonitorResultsMixin, MonitorExportsMixin, BaseEstimator):
    """Watch a deployed model's held-out NLL over time; say "recalibrate" or "retrain".

    ``fit`` takes a reference period: the deployed model's scores and labels.
    ``update`` takes production rows in batches of any size, labelled or not,
    grouped in chunks of ``chunk_size`` rows (or ``chunk_period`` of time); each
    complete chunk gets a row of :meth:`to_frame`: accuracy, NLL and its
    standard error, Brier, ECE, the NLL's calibration part (what a
    recalibration fitted on the chunk would win back) and refinement part, the
    label-free ``expected_nll``, an alarm and a verdict.

    **Alarms.** A CUSUM of each chunk's NLL standardised against the reference,
    and a single-chunk test; their thresholds are simulated at ``fit`` from the
    reference itself (heavy tails kept) so that any false alarm over
    ``horizon`` chunks has probability at most ``alpha``.

    **Verdict.** "Would a recalibration restore the reference?" A chunk in
    alarm whose refinement part is above the reference's beyond its standard
    error is "retrain"; otherwise "recalibrate". :meth:`recalibrate` installs a
    calibrator that ``update`` applies to the raw scores from then on (the
    CUSUM restarts at the first chunk it scores).

    **State.** Additive per-chunk summaries of at most ``history`` chunks, and
    at most ``max_pending`` rows waiting for a label (joined later by row
    number or id): memory does not grow with the rows seen. A bad batch
    changes nothing; a repeated ``batch_id`` is skipped. :meth:`to_dict` /
    :meth:`from_dict` (JSON-safe) and pickling round-trip the state exactly.
    The parameters the chunks and thresholds are fitted with (all but
    ``history`` and ``max_pending``) cannot change after ``fit``: ``update`` and
    :meth:`to_dict` refuse a monitor they were set on. The user guide's
    monitoring page says more.

    Parameters
    ----------
    chunk_size : int, default=1000
        Rows per chunk; with ``chunk_period``, the typical number of labelled
        rows per chunk, used to set the thresholds.

    chunk_period : str or numpy.timedelta64, default=None
        Chunks of this much time (``'D'``, ``'6h'``, ``np.timedelta64(1, 'W')``)
        in UTC instead of rows, days from midnight and weeks from Monday;
        ``update`` then needs timestamps, in any order within the open chunk.

    alpha : float, default=0.05
        Probability of any false alarm over ``horizon`` chunks without drift.

    horizon : int, default=100
        Number of chunks the false-alarm guarantee covers.

    drift : float, default=0.5
        CUSUM allowance, in standard errors of a chunk's NLL: the size of
        shift detected fastest is about twice this.

    min_labels : int, default=100
        Fewest labelled rows for a chunk to be tested (``chunk_size`` is at
        least this; a period's chunks need as many rows).

    score_type : {'auto', 'logits', 'probabilities'}, default='auto'
        How the scores are read, as in the calibrators (decided at ``fit``).

    max_pending : int, default=100000
        Most rows kept waiting for a late label; older ones are dropped.

    history : int, default=1000
        Most chunk summaries kept; older chunks leave the table (the CUSUM
        carries on).

    random_state : int or None, default=0
        Seed of the threshold simulation.

    Attributes
    ----------
    classes_ : ndarray
        The class of each score column.

    score_type_ : {'logits', 'probabilities'}
        How the scores are read.

    probability_floor_ : float or None
        What a probability below it (an exact zero) is read as, as by calibrators:
        half the smallest positive probability of a reference holding a zero, else
        None. At -708 nats, a random forest's few zeros blinded the alarms.

    reference_ : dict
        The reference's NLL, its per-row standard deviation, calibration and
        refinement parts, accuracy, ECE and expected NLL.

    cusum_threshold_, chunk_threshold_ : float
        The alarm thresholds of the CUSUM and of a single full chunk's ``z``.

    detectable_rise_ : dict
        The NLL rises (nats) they flag: sustained over 10 chunks, and in one.

    chunk_thresholds_ : dict
        A single chunk's threshold per labelled size class (``chunk_size``
        halved down to ``min_labels``): a chunk is tested at the largest class
        its labelled rows reach.

    n_rows_ : int
        Rows seen by ``update``; rows are numbered from 0 in arrival order.

    n_labels_unmatched_ : int
        Late labels whose id matched no waiting row (unknown, labelled already,
        or dropped beyond ``max_pending``): counted, never silently dropped.

    n_rows_late_ : int
        Rows left out because their period's chunk was complete when they
        came (``update(..., late_rows='drop')``).

    calibrator_ : calibrator or None
        Applied to the raw scores before monitoring (see :meth:`recalibrate`).

    calibrator_version_ : int
        How many calibrators were installed; the table's ``calibrator`` column.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import CalibrationMonitor
    >>> rng = np.random.default_rng(0)
    >>> def stream(n, sharpen):  # labels from softmax(z); the model says softmax(sharpen * z)
    ...     z = rng.normal(scale=2.0, size=(n, 4))
    ...     p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    ...     return sharpen * z, (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    >>> monitor = CalibrationMonitor(chunk_size=500).fit(*stream(5000, 1.0))
    >>> for sharpen in [1.0] * 5 + [3.0] * 5:  # the model turns over-confident
    ...     monitor = monitor.update(*stream(500, sharpen))
    >>> [row["verdict"] for row in monitor.to_dict()["chunks"]]
    ['ok', 'ok', 'ok', 'ok', 'ok', 'recalibrate', 'recalibrate', 'recalibrate', 'recalibrate', 'recalibrate']
    """

    _parameter_constraints = {
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "chunk_period": [str, np.timedelta64, None],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "drift": [Interval(Real, 0, None, closed="left")],
        "min_labels": [Interval(Integral, 2, None, closed="left")],
        "score_type": [StrOptions(set(SCORE_TYPES))],
        "max_pending": [Interval(Integral, 0, None, closed="left")],
        "history": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, chunk_size=1000, chunk_period=None, *, alpha=0.05, horizon=100,
                 drift=0.5, min_labels=100, score_type="auto", max_pending=100_000,
                 history=1000, random_state=0):
        self.chunk_size = chunk_size
        self.chunk_period = chunk_period
        self.alpha = alpha
        self.horizon = horizon
        self.drift = drift
        self.min_labels = min_labels
        self.score_type = score_type
        self.max_pending = max_pending
        self.history = history
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, scores, y, *, score_columns=None, calibrator=None):
        """Learn the reference period: its NLL, its split, and the alarm thresholds.

        Parameters
        ----------
        scores : array-like of shape (n_samples, n_classes) or (n_samples,)
            The deployed model's scores (logits or probabilities) on reference
            data, as the calibrators take them.

        y : array-like of shape (n_samples,)
            Their labels.

        score_columns : list of str, default=None
            The names of the score columns, one per class, that every batch
            must give in this order (as for :meth:`update`); a DataFrame's
            string column names are taken without it. Names after the labels
            (``proba_cat``) say each column's class, in any order.

        calibrator : fitted calibrator, default=None
            The calibrator the system already serves the raw scores through
            (fitted on them): the reference is measured through it too, and
            :meth:`update` applies it from the first batch on (version 1).

        Returns
        -------
        self : CalibrationMonitor
        """
        self._validate_params()
        check_fit_options(self)
        self._period_ns, self._period_origin = period_grid(self.chunk_period)
        self._fitted_params = fitted_params(self)
        scores, y = reference_on_host(scores, y)
        logits, self.score_type_, self.probability_floor_ = fit_score_rows(
            scores, self.score_type, name="scores")
        self.n_features_in_ = 1 if np.ndim(scores) == 1 else np.shape(scores)[1]
        log_proba = log_softmax(logits.read(), axis=1)
        if np.shape(y)[0] != log_proba.shape[0]:
            raise ValueError(f"scores has {log_proba.shape[0]} rows but y has "
                             f"{np.shape(y)[0]}; pass one label per row.")
        names = score_columns_of(scores, score_columns)  # named after classes, in any order
        self.classes_, y_index = encode_labels(y, log_proba.shape[1], takes_labels=False,
                                               labels=column_classes(names, np.asarray(y)))
        self.calibrator_, self.calibrator_version_, log_proba = served_reference(
            self, calibrator, scores, log_proba, names)
        if log_proba.shape[0] < 2 * self.min_labels:
            raise ValueError(f"The reference has {log_proba.shape[0]} rows; pass at least "
                             f"{2 * self.min_labels} (twice min_labels) to estimate its NLL.")
        reference_nll = -log_proba[np.arange(log_proba.shape[0]), y_index]
        n = log_proba.shape[0]
        ((_, _, summary),) = batch_summaries(log_proba, y_index, np.ones(n, dtype=bool),
                                             np.zeros(n, dtype=np.int64))
        self.reference_ = derived(summary, self.classes_.shape[0])
        self.reference_["nll_sd"] = float(reference_nll.std(ddof=1))
        set_thresholds(self, reference_nll)  # warns of a reference too small for them
        self.n_rows_ = 0
        self._chunks = []  # complete chunks: {"index", "start", "end", "summary"}
        self._open = None  # the open chunk, same form
        self._cusum_before = 0.0  # the CUSUM before the oldest kept chunk
        self._pending = empty_pending(self.classes_.shape[0])
        self._last_time = None
        self._score_columns = kept_score_columns(None, names, self.n_features_in_)
        self._batches = []  # [id, name(, rows, rows digest)] of the last `history` batches
        self.n_labels_unmatched_ = 0
        self.n_rows_late_ = 0
        self._table = []
        return self

    # --------------------------------------------------------------- update
    def update(self, X, y=None, timestamps=None, *, scores=None, timestamp=None, ids=None,
               batch_id=None, batch_name=None, score_columns=None, late_rows="error"):
        """Add a batch of production rows; complete chunks get their table row.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_classes) or (n_rows,), or pandas.DataFrame
            The model's raw scores, as at ``fit`` (a DataFrame of scores alone
            too, its columns as at ``fit``; :attr:`calibrator_`, if any, is
            applied to them); or a log's DataFrame whose columns ``scores``,
            ``y``, ``timestamp`` and ``ids`` name.

        y : array-like of shape (n_rows,) or str, default=None
            Labels (a column name with a DataFrame); None, NaN, None entries or
            -1 (when -1 is not a class) mark rows not labelled yet, whose labels
            can come later through :meth:`add_labels`.

        timestamps : array-like of datetime64, default=None
            Required with ``chunk_period``: the time of each row, in any order;
            a row is added to its period's chunk while that chunk is open (a
            complete chunk's rows are refused). ISO 8601 text is read too,
            times with a time zone in UTC; numbers (seconds or nanoseconds?)
            and missing times (NaT) are refused.

        scores : str or list of str, default=None
            With a DataFrame: the pattern of the score columns' names
            (``'proba_*'``), taken in the frame's column order, or a list of
            their names, taken in its order.

        timestamp : str, default=None
            With a DataFrame: the name of the time column.

        ids : array-like of shape (n_rows,) or str, default=None
            An id per row (a request or transaction id; a column name with a
            DataFrame), distinct, compared as text: late labels can then be
            joined by id (:meth:`add_labels`).

        batch_id : str, default=None
            Names the batch: a batch whose id was added already (among the last
            ``history`` batches) is skipped with a warning, so a re-run adds
            nothing twice. None adds the batch whatever it is.

        batch_name : str, default=None
            How the warning for a repeated batch refers to its first addition
            (a file name, say).

        score_columns : list of str, default=None
            With arrays read from a table: the names of the score columns. The
            first batch that names them (a DataFrame's own names, or these)
            fixes them; a later batch whose names come in another order is
            refused, since each column is a class.

        late_rows : {'error', 'drop'}, default='error'
            With ``chunk_period``: what becomes of rows whose period's chunk is
            complete (stragglers that arrive after a later period's rows).
            ``'error'`` refuses the batch whole, naming them; ``'drop'`` adds
            the other rows, and leaves those out, counted in
            :attr:`n_rows_late_` and in :meth:`summary` (they keep their row
            numbers). A complete chunk's verdict is not changed by rows that
            arrive later.

        Returns
        -------
        self : CalibrationMonitor
            Unchanged by a batch of no rows, or by a repeated ``batch_id``.

        Examples
        --------
        Daily chunks; a straggler of a day whose chunk is complete is left out:

        >>> import numpy as np
        >>> from skcal import CalibrationMonitor
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(scale=2.0, size=(5000, 3))
        >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
        >>> monitor = CalibrationMonitor(chunk_period="D").fit(logits[:3000], y[:3000])
        >>> times = np.datetime64("2026-05-01") + np.arange(2000) * np.timedelta64(2, "m")
        >>> _ = monitor.update(logits[3000:], y[3000:], times)  # May 1 and 2 complete
        >>> _ = monitor.update(logits[:2], y[:2], times[[5, 1999]], late_rows="drop")
        >>> monitor.n_rows_late_, monitor.n_rows_
        (1, 2002)
        """
        check_fitted_and_unchanged(self)
        check_late_rows(self, late_rows)
        scores_array, labels, times, row_ids, names = unpack(X, y, timestamps, scores,
                                                             timestamp, ids, score_columns)
        columns = kept_score_columns(getattr(self, "_score_columns", None),  # older pickles
                                     names, self.n_features_in_)
        if repeated_batch(self, batch_id) or np.shape(scores_array)[0] == 0:
            return self  # a repeated batch, or a period without rows: nothing to add
        add_rows(self, scores_array, self._log_proba, labels, times, row_ids, late_rows)
        record_batch(self, batch_id, batch_name)
        self._score_columns = columns
        return self

    def add_labels(self, rows=None, y=None, *, ids=None):
        """Labels that arrived late, for rows that were added without them.

        Parameters
        ----------
        rows : array-like of int, default=None
            The rows' numbers (rows are numbered from 0 in arrival order),
            each once; a row not waiting for a label is an error.

        y : array-like
            Their labels, in the order of ``rows`` or ``ids``.

        ids : array-like, default=None
            Instead of ``rows``: the ids given to :meth:`update`, in any order,
            over any number of calls. An id that matches no waiting row
            (unknown, labelled already, or dropped beyond ``max_pending``) is
            counted in :attr:`n_labels_unmatched_` and in :meth:`summary`; a
            repeated id, or rows that wait but were all added without ids, an error.

        Returns
        -------
        self : CalibrationMonitor
        """
        check_fitted_and_unchanged(self)
        add_late_labels(self, rows, y, ids)
        return self

    # ------------------------------------------------------------ internals
    def __setstate__(self, state):
        # monitors pickled before late_rows counted no late rows
        if "classes_" in state:
            state = {"n_rows_late_": 0, **state}
        super().__setstate__(state)

    def _log_proba(self, scores):
        """(log-probabilities, probabilities, each row's largest log-probability) of what
        the system serves: the raw scores, through the calibrator when one is installed."""
        logits, _ = score_rows(scores, self.score_type_, name="scores",
                               floor=getattr(self, "probability_floor_", None))
        check_served_scores(self, scores)
        if self.calibrator_ is not None:
            log_proba = calibrated_log_proba(self.calibrator_, scores, self.classes_)
            return log_proba, np.exp(log_proba), None
        return log_proba_of(logits.read(), self._batch_scratch())

    def _batch_scratch(self):
        """Arrays the per-row work reuses from batch to batch (fresh ones cost page
        faults); not part of the state, and pickled empty."""
        self._scratch = getattr(self, "_scratch", None) or Scratch()
        return self._scratch

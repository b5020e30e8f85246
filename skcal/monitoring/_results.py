"""What a fitted monitor reports and does about it: its table, a one-line
summary, the plot, the saved state, and the recalibration."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..rows._namespaces import to_numpy
from ._fitted_params import check_fitted_and_unchanged
from ._chunking import period_index
from ._inputs import nanoseconds
from ._onset import drift_onset
from ._recalibration import fitted_calibrator
from ._served_temperature import temperature_over_installed
from ._state import restore, state_of
from ._thresholds import detectable_rise, small_reference_note
from ._table import (
    COLUMNS,
    latest_judged,
    period_start_text,
    table_rows,
    too_few_rows,
)


class MonitorResultsMixin:
    """The reporting and recalibrating half of :class:`~skcal.CalibrationMonitor`
    (which see)."""

    def recalibrate(self, calibrator, scores=None, y=None, *, sample_weight=None,
                    compose=False):
        """Install a calibrator: from the next ``update`` on, the raw scores pass
        through it before they are monitored.

        Parameters
        ----------
        calibrator : str or calibrator
            A method name (``'temperature'``, ``'VectorScaling'``, ...) or an
            unfitted calibrator, fitted here on ``scores`` and ``y``; or a
            calibrator already fitted on raw scores (then give no scores).

        scores : array-like of shape (n_rows, n_classes) or (n_rows,), default=None
            Raw production scores, labelled, from the drift on (see
            :meth:`drift_onset` and :meth:`chunk_of`); at least
            ``min_labels`` rows.

        y : array-like of shape (n_rows,), default=None
            Their labels.

        sample_weight : array-like of shape (n_rows,), default=None
            Weights of the fit.

        compose : bool, default=False
            For a temperature (``'temperature'``) with a calibrator installed:
            fit the temperature on what that calibrator serves for ``scores``
            and install the calibrator followed by it, as one calibrator of
            its class (its calibrated logits over the temperature), which
            keeps what the calibrator fitted per class; for a temperature,
            vector or matrix scaling, or a binary Platt or beta map, whose
            calibrated logits over a temperature are the same map with its
            parameters divided by it. False fits the temperature on the raw
            scores, in place of the calibrator.

        Returns
        -------
        calibrator : fitted calibrator
            Also :attr:`calibrator_`; the table's ``calibrator`` column counts
            up, and the CUSUM restarts at the first chunk the new one scores.

        Examples
        --------
        >>> from skcal import CalibrationMonitor, VectorScaling
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(scale=2.0, size=(6000, 3))
        >>> y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
        >>> monitor = CalibrationMonitor().fit(logits[:3000], y[:3000])
        >>> vector = monitor.recalibrate(VectorScaling().fit(logits[:3000], y[:3000]))
        >>> drifted = 2.0 * logits[3000:]  # the model became twice too confident
        >>> cooler = monitor.recalibrate("temperature", drifted, y[3000:], compose=True)
        >>> temperature = vector.coef_ / cooler.coef_  # every coefficient over it
        >>> one_temperature = np.ptp(temperature) < 1e-12
        >>> type(cooler).__name__, bool(one_temperature and 1.8 < temperature[0] < 2.2)
        ('VectorScaling', True)
        """
        check_is_fitted(self, "reference_")
        scores, y, sample_weight = to_numpy((scores, y, sample_weight))  # the host's
        if compose:
            fitted = temperature_over_installed(self, calibrator, scores, y, sample_weight)
        else:
            fitted = fitted_calibrator(calibrator, scores, y, sample_weight,
                                       classes=self.classes_, n_features=self.n_features_in_,
                                       score_type=self.score_type_,
                                       min_labels=self.min_labels,
                                       names=getattr(self, "_score_columns", None))
        self.calibrator_, self.calibrator_version_ = fitted, self.calibrator_version_ + 1
        return fitted

    def drift_onset(self):
        """The chunk where the drift that the latest chunk shows began (None when
        the CUSUM is at 0): the chunks from it on hold the rows to recalibrate on.

        Within the CUSUM's current run (the chunks since it last stood at 0,
        and since the current calibrator was installed), the chunk that best
        splits the chunks scored by the current calibrator in two: the
        largest standardised rise of the mean NLL from it on over the mean NLL
        before it (over the reference's, for the calibrator's first chunk).
        The run's own first chunk is often several chunks early: the CUSUM
        stands above 0 by chance a good part of the time before a change.
        This estimate errs late by a chunk or two instead, which leaves a
        recalibration fewer rows, all from after the change.

        Examples
        --------
        >>> from skcal import CalibrationMonitor
        >>> rng = np.random.default_rng(0)
        >>> def day(scale):  # a model `scale` times too confident
        ...     logits = rng.normal(scale=2.0, size=(2000, 4))
        ...     y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
        ...     return scale * logits, y
        >>> monitor = CalibrationMonitor(chunk_size=2000).fit(
        ...     *map(np.concatenate, zip(*[day(1.0) for _ in range(10)])))
        >>> for i in range(20):
        ...     _ = monitor.update(*day(1.0 if i < 12 else 2.0))
        >>> monitor.drift_onset()  # the first chunk of the confident model
        12
        """
        check_is_fitted(self, "reference_")
        return drift_onset(self._table, self.reference_)

    def chunk_of(self, rows=None, timestamps=None):
        """The chunk index of rows, by their numbers (``rows``) or, with
        ``chunk_period``, their ``timestamps``."""
        check_is_fitted(self, "reference_")
        if self._period_ns is None:
            return np.asarray(rows, dtype=np.int64) // self.chunk_size
        return period_index(self, nanoseconds(timestamps))

    def has_batch(self, batch_id):
        """The name a batch of this id was added under (among the last ``history``
        batches), or None."""
        check_is_fitted(self, "reference_")
        return {str(b[0]): b[1] for b in self._batches}.get(str(batch_id))

    @property
    def n_pending_dropped_(self):
        """Rows that left the window of ``max_pending`` before their labels came."""
        return self._pending.n_dropped

    @property
    def detectable_rise_(self):
        """``{'cusum': nats, 'chunk': nats}``: the sustained rise of a full
        chunk's NLL over the reference's that the CUSUM flags within 10 chunks
        (on its expected path), and the rise that makes a single full chunk
        alarm. A reference of few chunks raises the first: its own error is
        shared by every chunk (``fit`` warns below 3 chunks; take 10 or more).

        Examples
        --------
        >>> import numpy as np
        >>> from skcal import CalibrationMonitor
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(size=(20000, 3))
        >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
        >>> rise = CalibrationMonitor(chunk_size=500).fit(logits, y).detectable_rise_
        >>> bool(rise["cusum"] < rise["chunk"] < 0.2)
        True
        """
        check_is_fitted(self, "reference_")
        return detectable_rise(self)

    def to_frame(self):
        """One row per complete chunk, as a pandas DataFrame.

        Columns: ``chunk``, ``start``, ``end`` (row numbers, or timestamps with
        ``chunk_period``), ``n``, ``n_labelled``, ``accuracy``, ``nll``,
        ``nll_se``, ``brier``, ``ece``, ``nll_calibration``,
        ``nll_refinement``, ``expected_nll``, ``z``, ``cusum``, ``threshold``,
        ``alarm``, ``verdict``.

        Returns
        -------
        frame : pandas.DataFrame
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "to_frame needs pandas, an optional dependency: pip install pandas; "
                "to_dict() gives the same table without it."
            ) from exc
        frame = pd.DataFrame(table_rows(self), columns=list(COLUMNS))
        if self._period_ns is not None:
            for column in ("start", "end"):
                frame[column] = pd.to_datetime(frame[column], unit="ns")
        return frame

    def summary(self):
        """One line: the latest complete chunk's verdict, and how many chunks alarm."""
        check_is_fitted(self, "reference_")
        if not self._table:
            return "No complete chunk yet."
        last = self._table[-1]
        alarms = sum(row["alarm"] for row in self._table)
        if last["n_labelled"]:
            gain = last["nll_calibration"]
            # the part is a held-out estimate: below 0, a recalibration would cost
            won = (f"would win back {gain:.4f}" if gain > 0 else
                   f"would win back nothing (its held-out gain is {gain:.4f})")
            numbers = (f"NLL {last['nll']:.4f} against {self.reference_['nll']:.4f} in the "
                       f"reference; recalibration {won}")
        else:  # no label yet: what the model itself expects
            numbers = (f"no label yet; expected NLL {last['expected_nll']:.4f} against "
                       f"{self.reference_['expected_nll']:.4f} in the reference")
        since = ("" if self._period_ns is None
                 else f" (from {period_start_text(last['start'])} UTC)")
        line = (f"Latest chunk {last['chunk']}{since}: {last['verdict']} ({numbers}); "
                f"{alarms} of {len(self._table)} chunks in alarm.")
        if last["verdict"] == "too few labels":
            hint = too_few_rows(last, self.min_labels, only=len(self._table) == 1)
            line += f" {hint}" if hint else ""
        judged, awaiting = latest_judged(self._table)
        if judged is not None and awaiting:  # the newest chunks wait for their labels
            line += (f" Latest verdict: chunk {judged['chunk']}, {judged['verdict']}"
                     f"{' (alarm)' if judged['alarm'] else ''}.")
        if self.n_labels_unmatched_:
            line += (f" {self.n_labels_unmatched_} late labels matched no waiting row "
                     "(unknown ids, labelled already, or beyond max_pending).")
        if self.n_rows_late_:
            line += (f" {self.n_rows_late_} rows were left out: their periods' chunks were "
                     "complete when they came (late_rows='drop').")
        if self._pending.n_dropped:
            line += (f" {self._pending.n_dropped} rows left the window of max_pending "
                     "before their labels came.")
        return line + small_reference_note(self)

    def plot(self, *, ax=None):
        """Draw NLL per chunk with the reference band, alarms and the split.

        Returns
        -------
        display : MonitorDisplay
        """
        from ._display import MonitorDisplay

        return MonitorDisplay.from_monitor(self, ax=ax)

    def to_dict(self):
        """The whole state as JSON-safe Python values (:meth:`from_dict` restores it).

        Returns
        -------
        state : dict
            ``params``, ``reference``, thresholds, the chunk ``table`` (as
            ``chunks``), and the internal summaries.
        """
        check_fitted_and_unchanged(self)  # a state that describes itself
        return state_of(self)

    @classmethod
    def from_dict(cls, state):
        """A monitor with the state of :meth:`to_dict`, ready to go on.

        A state with a part missing, or with parameters or fitted numbers no
        fit makes (an ``alpha`` of 5, a negative threshold of the CUSUM, a
        chunk with more labelled rows than rows), is refused with a
        ``ValueError`` that names the part.

        Parameters
        ----------
        state : dict

        Returns
        -------
        monitor : CalibrationMonitor
        """
        return restore(cls, state)

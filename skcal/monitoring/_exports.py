"""Where a monitor's results go for operations teams: a SQL database, Prometheus
metrics (text or pushed), and a self-contained HTML report."""

from pathlib import Path

from sklearn.utils.validation import check_is_fitted

from ..utils._files import write_atomically


class MonitorExportsMixin:
    """The exporting part of :class:`~skcal.CalibrationMonitor` (which see)."""

    def to_sql(self, url_or_engine, *, model, run_id=None, chunks=None):
        """Write the chunk table into a SQL database, one row per chunk and metric.

        The table ``skcal_monitor_results`` (created if missing, with
        ``skcal_monitor_runs`` and ``skcal_schema``; the schema is on the
        monitoring page of the documentation) gets, for each chunk, the
        metrics ``n``, ``n_labelled``, ``accuracy``, ``nll``, ``nll_se``,
        ``brier``, ``ece``, ``nll_calibration``, ``nll_refinement``,
        ``expected_nll``, ``z`` and ``cusum``, with the reference's value,
        the threshold, the alarm and the verdict. The rows of the chunks
        written replace the ones stored for this model, in one transaction:
        writing again updates, never duplicates, and a failure writes nothing.
        On PostgreSQL and SQLite, writers that collide (two jobs at once, the
        first to a new store) take turns, each for its transaction. Needs
        SQLAlchemy (``pip install "skcal[sql]"``).

        Parameters
        ----------
        url_or_engine : str or sqlalchemy.engine.Engine
            Any SQLAlchemy database URL (``sqlite:///monitor.db``,
            ``postgresql://user@host/db``, ...) or an engine.

        model : str
            The model's name: several models share one store.

        run_id : str, default=None
            Names this write in ``skcal_monitor_runs``; a random id when None.

        chunks : iterable of int, default=None
            The chunk indices to write (those a run changed, say); all chunks
            of the table when None, or when the store has no rows of this
            model yet (the first write fills in the history kept).

        Returns
        -------
        n_chunks : int
            The chunks written.

        Examples
        --------
        >>> import numpy as np, sqlalchemy
        >>> from skcal import CalibrationMonitor
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(size=(4000, 3))
        >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
        >>> monitor = CalibrationMonitor(chunk_size=500).fit(logits[:2000], y[:2000])
        >>> engine = sqlalchemy.create_engine("sqlite://")  # in memory
        >>> monitor.update(logits[2000:], y[2000:]).to_sql(engine, model="demo")
        4
        >>> with engine.connect() as db:
        ...     db.execute(sqlalchemy.text("SELECT COUNT(*) FROM skcal_monitor_results "
        ...                                "WHERE metric = 'nll'")).scalar()
        4
        >>> engine.dispose()  # the engine is the caller's to close
        """
        check_is_fitted(self, "reference_")
        from ._sql_store import write_results

        return write_results(self, url_or_engine, model=model, run_id=run_id, chunks=chunks)

    def to_prometheus(self, *, model, format="openmetrics"):
        """The latest complete chunk as Prometheus metrics, labelled by model.

        Gauges ``skcal_monitor_nll``, ``_reference_nll``, ``_nll_se``, ``_z``
        and ``_z_threshold``, ``_cusum`` and ``_cusum_threshold``,
        ``_nll_calibration``, ``_nll_refinement``, ``_accuracy``, ``_ece``,
        ``_expected_nll``, ``_label_coverage``, ``_alarm`` (0 or 1),
        ``_chunk``, ``_calibrator_version``, the chunk's end
        (``_chunk_end_timestamp_seconds`` with ``chunk_period``, else
        ``_chunk_end_row``) and ``_last_run_timestamp_seconds``; and the
        verdict, ``skcal_monitor_verdict``, one series per verdict, 1 for the
        latest. A number not known yet (no labels) is NaN.

        Parameters
        ----------
        model : str
            The value of the ``model`` label.

        format : {'openmetrics', 'text'}, default='openmetrics'
            OpenMetrics 1.0 (the verdict a state set), or the Prometheus text
            format 0.0.4 that node_exporter's textfile collector and the
            Pushgateway read (the verdict a gauge per state).

        Returns
        -------
        text : str

        Examples
        --------
        >>> import numpy as np
        >>> from skcal import CalibrationMonitor
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(size=(3000, 3))
        >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
        >>> monitor = CalibrationMonitor(chunk_size=500).fit(logits[:2000], y[:2000])
        >>> text = monitor.update(logits[2000:], y[2000:]).to_prometheus(model="demo")
        >>> [line for line in text.splitlines() if line.startswith("skcal_monitor_alarm")]
        ['skcal_monitor_alarm{model="demo"} 0.0']
        """
        check_is_fitted(self, "reference_")
        if format not in ("openmetrics", "text"):
            raise ValueError(f"format must be 'openmetrics' or 'text'; got {format!r}.")
        _check_model(model)
        from ._openmetrics import exposition

        return exposition(self, model=model, openmetrics=format == "openmetrics")

    def push_to_gateway(self, url, *, model, job="skcal_monitor", timeout=10.0):
        """Push :meth:`to_prometheus` (text format) to a Prometheus Pushgateway.

        The metrics replace those of the group ``job``/``model`` (an HTTP PUT
        to ``URL/metrics/job/JOB/model/MODEL``).

        Parameters
        ----------
        url : str
            The Pushgateway, ``http://host:9091``; ``http://user:password@host:9091``
            sends the credentials as HTTP basic authentication.

        model : str
            The ``model`` label and grouping key.

        job : str, default='skcal_monitor'
            The ``job`` grouping key.

        timeout : float, default=10.0
            Seconds to wait for the Pushgateway.

        Returns
        -------
        self : CalibrationMonitor
        """
        from ._openmetrics import push

        push(self.to_prometheus(model=model, format="text"), url, model=model, job=job,
             timeout=timeout)
        return self

    def to_html(self, path=None, *, model=None):
        """A self-contained HTML report: the verdict and what to do, the NLL per
        chunk against the reference band, the CUSUM against its threshold, the
        calibration and refinement split, the latest chunk's reliability
        diagram against the reference's with a consistency band, and the table.

        Pictures are inline SVG and styles inline: the page makes no request
        to the network and opens from a file or a mail attachment.

        Parameters
        ----------
        path : str or path-like, default=None
            Where to write it (atomically: the old report stays until the new
            one is complete); None only returns the text.

        model : str, default=None
            The model's name, for the title.

        Returns
        -------
        html : str

        Examples
        --------
        >>> import numpy as np
        >>> from skcal import CalibrationMonitor
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(size=(3000, 3))
        >>> y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
        >>> monitor = CalibrationMonitor(chunk_size=500).fit(logits[:2000], y[:2000])
        >>> page = monitor.update(logits[2000:], y[2000:]).to_html(model="demo")
        >>> page.startswith("<!DOCTYPE html>"), "OK: no alarm" in page
        (True, True)
        """
        check_is_fitted(self, "reference_")
        from ._report import report_html

        text = report_html(self, model=model)
        if path is not None:
            write_atomically(Path(path), lambda temporary: Path(temporary).write_text(
                text, encoding="utf-8"))
        return text


def _check_model(model):
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a non-empty string naming the model; got {model!r}.")

"""``skcal monitor``'s outputs for operations teams: the SQL store, the
Prometheus metrics (a textfile, a push) and the HTML report.

The store and the push come first, before any file is written or the state
saved: a store that cannot be written (a wrong URL, a server that is down)
ends the run with status 2 and leaves everything as it was, so a rerun does
the whole run again. Both are idempotent (the store replaces the rows of the
chunks it writes; a push replaces the group's metrics).
"""

from pathlib import Path

from ..utils._files import write_atomically


def check_output_arguments(args, *, error):
    """The outputs that name a model have one."""
    needs_model = [flag for flag, value in (("--store", args.store),
                                            ("--prometheus-textfile", args.prometheus_textfile),
                                            ("--pushgateway", args.pushgateway)) if value]
    if needs_model and not args.model:
        verb = "needs" if len(needs_model) == 1 else "need"
        raise error(f"{', '.join(needs_model)} {verb} --model NAME (the model's name in the "
                    "store and the metrics' labels)")
    if args.run_id and not args.store:
        raise error("--run-id names a run in the store; give --store URL too")


def changed_chunks(before, after):
    """The chunk indices of table rows (``to_dict()['chunks']``) that are new or
    differ from before the run (late labels change old chunks)."""
    earlier = {row["chunk"]: row for row in before}
    return [row["chunk"] for row in after if earlier.get(row["chunk"]) != row]


def write_store(monitor, args, chunks, *, error):
    """The chunks this run changed into the store (all of them for a model the
    store does not know yet)."""
    if not args.store:
        return
    try:
        written = monitor.to_sql(args.store, model=args.model, run_id=args.run_id,
                                 chunks=chunks)
    except ImportError as exc:
        raise error(f"--store: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 (SQLAlchemy's and the drivers' errors)
        if not _is_database_error(exc):
            raise
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise error(f"--store {_masked(args.store)}: could not write ({type(exc).__name__}: "
                    f"{reason}); nothing was written to the store and the state is not "
                    "saved") from exc
    print(f"{written} chunks written to the store for model {args.model!r}.")


def push_metrics(monitor, args, *, error):
    if not args.pushgateway:
        return
    from ..monitoring._openmetrics import masked_url

    shown = masked_url(args.pushgateway)
    try:
        monitor.push_to_gateway(args.pushgateway, model=args.model)
    except (OSError, ValueError) as exc:
        # the store, written before, keeps this run's chunks: a rerun replaces them
        stored = (", and the store holds this run's chunks (a rerun writes them again, "
                  "replacing them)") if args.store else ""
        raise error(f"--pushgateway {shown}: could not push ({exc}); the state is "
                    f"not saved{stored}") from exc
    print(f"Metrics pushed to {shown} (job skcal_monitor, model {args.model!r}).")


def write_files(monitor, args):
    """The Prometheus textfile and the HTML report, each replaced atomically."""
    if args.prometheus_textfile:
        text = monitor.to_prometheus(model=args.model, format="text")
        write_atomically(Path(args.prometheus_textfile),
                         lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
        print(f"Metrics written to {args.prometheus_textfile}")
    if args.report:
        monitor.to_html(args.report, model=args.model)
        print(f"Report written to {args.report}")


def _is_database_error(exc):
    """Whether ``exc`` is SQLAlchemy's (a bad URL, a connection refused, a failed
    statement) or the store's schema check."""
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:
        return False
    return isinstance(exc, (SQLAlchemyError, ValueError))


def _masked(url):
    """The URL with its password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 (an URL SQLAlchemy cannot parse is shown as given)
        return url

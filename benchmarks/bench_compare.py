"""Time of compare_calibrators with every default method, and each method's share.

    python benchmarks/bench_compare.py [--rows 10000] [--classes 100] [--cv 5]
                                       [--n-jobs 1 2] [--repeat 5] [--rst OUT]
                                       [--readme README.md] [--data FILE.npz] [--passes]
                                       [--methods NAME ...] [--fresh-pages]

Scores are synthetic float64 logits of an overconfident model (labels drawn
from softmax(z / 2)), or with ``--data`` a real model's outputs from
``../shared/data`` (its ``probs`` or ``logits_test`` and labels, as float64;
``--rows`` and ``--classes`` are then the file's). The yardstick is the time of 50 passes of
``scipy.special.logsumexp`` over the same matrix, measured just before and just
after each comparison; each run's ratio is its time over the mean of those two
(the machine's speed drifts, so ratios are paired with their own yardstick).
The median ratio over ``--repeat`` runs is reported per ``--n-jobs`` (folds
evaluated in parallel over that many processes), with the yardstick's median
time and its page faults per pass: each pass allocates an 8 MB temporary, and
whether the allocator hands back fresh pages (about 2000 faults a pass, which
can double the yardstick's time) or reuses its heap depends on the C library
and on what the process did before, so the faults say which yardstick a ratio
was taken against; the fewer, the stricter the ratio. Under glibc the script
therefore runs itself again with ``GLIBC_TUNABLES`` that keep freed memory in
the heap (``HEAP_REUSED``), for the strict yardstick on any machine (a
comparison's own time is the same either way: it reads the scores in row
blocks of at most half a megabyte); ``--fresh-pages`` measures the process as
it comes instead. The share of each method is
its fit time summed over folds, over the total wall time (``n_jobs=1``).
``--rst`` writes the result for the documentation, ``--readme`` the README's
section. ``--passes`` also counts, per method, the values its fits and
predictions read through skcal's block loop (``Rows.reduce`` and
``Rows.map_rows``), in passes over the whole matrix: a measure of the work
that does not depend on the machine (the yardstick is 50 such passes).
``--methods`` compares those methods instead of the default ones: what leaving
some out of the defaults would buy.
"""

import argparse
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np
from scipy.special import logsumexp

from skcal import compare_calibrators


PASSES = 50
# glibc's malloc keeps freed memory for reuse, however large: the largest mmap
# threshold it takes (32 MB; logsumexp's temporaries are 8 MB) and no trimming
HEAP_REUSED = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295"


def run_with_heap_reused():
    """Run this script again with ``HEAP_REUSED``, unless it is already so run
    or the C library is not glibc (then the faults per pass say which
    yardstick the ratios met)."""
    if os.environ.get("GLIBC_TUNABLES") == HEAP_REUSED or platform.libc_ver()[0] != "glibc":
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv],
              {**os.environ, "GLIBC_TUNABLES": HEAP_REUSED})


def yardstick(logits):
    """Seconds of ``PASSES`` logsumexp passes, and the page faults per pass."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    for _ in range(PASSES):
        logsumexp(logits, axis=1)
    seconds = time.perf_counter() - start
    return seconds, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / PASSES


def timed_runs(logits, y, args, n_jobs):
    """(seconds, ratio to the yardstick, the yardstick's seconds and faults per
    pass, each the mean of before and after) of each run, and the last comparison."""
    runs, comparison, before = [], None, yardstick(logits)
    for _ in range(args.repeat):
        start = time.perf_counter()
        comparison = compare_calibrators(logits, y, cv=args.cv, n_jobs=n_jobs,
                                         calibrators=args.methods)
        seconds = time.perf_counter() - start
        after = yardstick(logits)
        stick, faults = ((b + a) / 2 for b, a in zip(before, after))
        runs.append((seconds, seconds / stick, stick, faults))
        before = after
    return runs, comparison


def real_scores(path):
    """(scores, labels) of a shared/data file: its probabilities, or its test logits."""
    with np.load(path, allow_pickle=False) as data:
        if "probs" in data.files:
            return data["probs"].astype(np.float64), data["y"]
        return data["logits_test"].astype(np.float64), data["y_test"]


def fit_shares(comparison, seconds, n_splits):
    """Each method's fit time summed over the folds, in % of the run's time."""
    results = comparison.cv_results_
    return [(name, fit * n_splits / seconds * 100)
            for name, fit in zip(results["method"], results["mean_fit_time"])]


def passes_read(logits, y, cv, methods=None):
    """Values read through the block loop by each method's fits, by the
    predictions and by the rest of one comparison, in passes over ``logits``."""
    import collections

    import skcal.comparison._compare as compare
    import skcal.rows._blocks as blocks

    read, current = collections.Counter(), ["rest (checks, metrics, refit)"]
    loops = {name: getattr(blocks, name) for name in ("reduce_local", "map_local")}
    fit, predict = compare.fit_sharing, compare.predict_proba_sharing

    def counting(loop):
        def counted(reader, data, *args):
            read[current[0]] += np.size(data)
            return loop(reader, data, *args)
        return counted

    def labelled(call, label):
        def run(candidate, *args):
            current[0] = label(candidate)
            try:
                return call(candidate, *args)
            finally:
                current[0] = "rest (checks, metrics, refit)"
        return run

    try:
        for name, loop in loops.items():
            setattr(blocks, name, counting(loop))
        compare.fit_sharing = labelled(fit, lambda c: "fit " + type(c).__name__)
        compare.predict_proba_sharing = labelled(predict, lambda c: "predictions")
        compare_calibrators(logits, y, cv=cv, n_jobs=1, calibrators=methods)
    finally:
        for name, loop in loops.items():
            setattr(blocks, name, loop)
        compare.fit_sharing, compare.predict_proba_sharing = fit, predict
    return [(name, count / logits.size) for name, count in read.most_common()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rst", metavar="OUT", help="also write the result as reStructuredText")
    parser.add_argument("--readme", metavar="README",
                        help="also replace the README's bench_compare section")
    parser.add_argument("--passes", action="store_true",
                        help="also count the passes over the scores each method reads")
    parser.add_argument("--data", metavar="FILE.npz",
                        help="a real model's outputs (shared/data) instead of synthetic logits")
    parser.add_argument("--fresh-pages", action="store_true",
                        help="do not rerun under GLIBC_TUNABLES that keep freed memory in the "
                             "heap: the yardstick then gets fresh pages or not as the process "
                             "comes (a laxer yardstick, up to twice as slow)")
    parser.add_argument("--methods", nargs="+", metavar="NAME",
                        help="compare these methods instead of the default ones "
                             "(temperature platt ...; not with --rst or --readme)")
    args = parser.parse_args()
    if args.methods and (args.rst or args.readme):
        parser.error("--rst and --readme write the default methods' figures; "
                     "leave out --methods")
    if not args.fresh_pages:
        run_with_heap_reused()
    if args.data:
        logits, y = real_scores(args.data)
        args.rows, args.classes = logits.shape
    else:
        rng = np.random.default_rng(0)
        logits = rng.normal(scale=4.0, size=(args.rows, args.classes))
        y = np.argmax(logits / 2 + rng.gumbel(size=logits.shape), axis=1)
    compare_calibrators(logits[:2000], y[:2000], cv=args.cv)  # imports, first calls
    summary, shares = [], None
    for n_jobs in args.n_jobs:
        runs, comparison = timed_runs(logits, y, args, n_jobs)
        seconds = statistics.median(run[0] for run in runs)
        ratios = [run[1] for run in runs]
        summary.append((f"n_jobs={n_jobs}", f"{seconds:.2f} s",
                        f"{statistics.median(ratios):.1f}x",
                        f"{min(ratios):.1f}x - {max(ratios):.1f}x",
                        f"{statistics.median(run[2] for run in runs):.2f} s",
                        f"{statistics.median(run[3] for run in runs):.0f}"))
        if shares is None:
            print(comparison)
            shares = fit_shares(comparison, runs[-1][0], args.cv)
    print(f"\n{args.rows} x {args.classes} scores, {args.cv} folds, {args.repeat} runs each")
    heap_reused = os.environ.get("GLIBC_TUNABLES") == HEAP_REUSED
    print("allocator:", "GLIBC_TUNABLES=" + HEAP_REUSED if heap_reused
          else "as the process comes")
    header = ("folds in parallel", "median time", "median ratio to 50 logsumexp passes",
              "range of ratios", "yardstick", "page faults a pass")
    for row in summary:
        print("  ".join(row))
    print(f"\n{'method':<24}{'share of the time (n_jobs=' + str(args.n_jobs[0]) + ')':>34}")
    for name, share in shares:
        print(f"{name:<24}{share:>33.1f}%")
    def text(code):  # the quotes of inline code: `` in reStructuredText, ` in markdown
        return [f"Every default method, {args.cv} folds, {args.rows} x {args.classes} "
                f"float64 scores, {args.repeat} runs each; each run's time over 50 "
                f"{code}logsumexp{code} passes over the same matrix, measured just before "
                "and after it (the yardstick's median time, and its page faults per pass: "
                "about 2000 when the allocator hands each pass fresh pages, which can "
                "double its time; the fewer, the stricter the ratio). " + (
                    f"Freed memory was kept in glibc's heap ({code}GLIBC_TUNABLES="
                    f"{HEAP_REUSED}{code}), for the strict yardstick:" if heap_reused else
                    "The allocator was left as the process came (--fresh-pages):"), ""]

    share_text = ["", f"Share of the time of each method's fits (n_jobs={args.n_jobs[0]}; the "
                  "rest is prediction and metrics): " + ", ".join(
                      f"{name} {share:.0f} %" for name, share in shares) + "."]
    if args.passes:
        counted = passes_read(logits, y, args.cv, args.methods)
        print(f"\n{'values read, in passes over the scores':<44}{'passes':>8}")
        for name, passes in counted:
            print(f"{name:<44}{passes:>8.1f}")
        total = sum(passes for _, passes in counted)
        print(f"{'total':<44}{total:>8.1f}  ({total / PASSES:.1f} yardsticks of passes)")
    if args.rst:
        from tables import rst_table, write_text

        write_text(args.rst, text("``") + rst_table(header, summary) + share_text)
    if args.readme:
        from tables import markdown_table, replace_section

        replace_section(args.readme, "bench_compare",
                        text("`") + markdown_table(header, summary) + share_text)


if __name__ == "__main__":
    main()

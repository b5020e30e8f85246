"""compare_calibrators on language-model token logits: time and peak memory.

    python benchmarks/bench_compare_vocabulary.py [--tokens 1000 4000] [--vocab 32000]
                                                  [--length 10] [--cv 3]

Token logits of ``bench_vector_vocabulary.token_logits`` (float32, Zipf-like token
frequencies, an overconfident model), shaped ``(tokens / length, length, vocab)``
so that each sequence is a group; every default method, ``cv`` folds. Each size
runs in a fresh process, whose peak resident memory (``ru_maxrss``) is reported
beside the input's size, with the comparison's time, the time to read one
method's out-of-fold predictions, and the ranking's first two methods.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings


def one_run(tokens, vocab, length, cv):
    import numpy as np

    from bench_vector_vocabulary import token_logits
    from skcal import compare_calibrators

    logits, y = token_logits(tokens, vocab, seed=0)
    logits = logits.reshape(tokens // length, length, vocab)
    y = y.reshape(tokens // length, length)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rare tokens, absent classes: said elsewhere
        comparison = compare_calibrators(logits, y, cv=cv)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    proba = comparison.predictions_["VectorScaling"]
    read = time.perf_counter() - start
    assert proba.shape == (tokens, vocab) and np.isfinite(proba).all()
    return {"seconds": seconds, "read_seconds": read, "input_gb": logits.nbytes / 1e9,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
            "before_gb": before * 1024 / 1e9, "ranking": list(comparison.ranking_[:2])}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--vocab", type=int, default=32_000)
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--one", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(*args.one)))
        return
    print(f"{'tokens x vocab':<16}{'input GB':>9}{'peak GB':>9}{'peak/input':>11}"
          f"{'seconds':>9}{'read s':>8}  first two")
    for tokens in args.tokens:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(tokens), str(args.vocab), str(args.length),
             str(args.cv)], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{f'{tokens} x {args.vocab}':<16}{result['input_gb']:>9.3f}"
              f"{result['peak_gb']:>9.2f}{result['peak_gb'] / result['input_gb']:>11.1f}"
              f"{result['seconds']:>9.1f}{result['read_seconds']:>8.2f}  "
              f"{', '.join(result['ranking'])}")


if __name__ == "__main__":
    main()

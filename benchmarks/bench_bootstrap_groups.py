"""Coverage of ``bootstrap``'s 95 % intervals of the NLL over tokens of documents:
tokens drawn one by one, or whole documents with ``groups``.

    python benchmarks/bench_bootstrap_groups.py [--simulations 400] [--documents 10 50]
                                                [--length 40] [--resamples 1000]

Each document has its own difficulty (the temperature its labels are drawn at,
uniform in [0.5, 6]) and the model's logits are the same kind for all, so the
tokens of one document are correlated in their NLL. The population NLL is the
mean over 100,000 documents. Each simulation draws ``--documents`` documents of
``--length`` tokens and asks whether each interval covers the population NLL.
"""

import argparse
import time

import numpy as np
from scipy.special import log_softmax

from skcal.stats import bootstrap

N_CLASSES = 5


def documents(rng, n_documents, length):
    """Labels (n_documents * length,), probabilities and each token's document."""
    logits = 3.0 * rng.normal(size=(n_documents * length, N_CLASSES))
    temperature = np.repeat(rng.uniform(0.5, 6.0, size=n_documents), length)[:, None]
    truth = np.exp(log_softmax(logits / temperature, axis=1))
    y = (truth.cumsum(axis=1) > rng.random((truth.shape[0], 1))).argmax(axis=1)
    return y, np.exp(log_softmax(logits, axis=1)), np.repeat(np.arange(n_documents), length)


def population_nll(rng, length, n_documents=100_000, chunk=5_000):
    """The expected NLL of a token: each row's expected loss under its own
    label distribution, averaged over many documents."""
    total = 0.0
    for _ in range(n_documents // chunk):
        logits = 3.0 * rng.normal(size=(chunk * length, N_CLASSES))
        temperature = np.repeat(rng.uniform(0.5, 6.0, size=chunk), length)[:, None]
        truth = np.exp(log_softmax(logits / temperature, axis=1))
        total += float(-(truth * log_softmax(logits, axis=1)).sum())
    return total / (n_documents * length)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=400)
    parser.add_argument("--documents", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--length", type=int, default=40)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    truth = population_nll(rng, args.length)
    print(f"population NLL {truth:.4f} nats; {args.simulations} simulations, "
          f"{args.resamples} resamples each, documents of {args.length} tokens\n")
    print(f"{'documents':>10}{'by token':>11}{'by document':>14}{'width ratio':>13}"
          f"{'s per interval':>16}")
    for n_documents in args.documents:
        covered = {"token": 0, "document": 0}
        widths = {"token": [], "document": []}
        seconds = []
        for _ in range(args.simulations):
            y, proba, document = documents(rng, n_documents, args.length)
            seed = int(rng.integers(2**31))
            for unit, groups in (("token", None), ("document", document)):
                start = time.perf_counter()
                low, high = bootstrap("nll", y, proba, groups=groups,
                                      n_resamples=args.resamples,
                                      random_state=seed).confidence_interval
                seconds.append(time.perf_counter() - start)
                covered[unit] += low <= truth <= high
                widths[unit].append(high - low)
        ratio = np.median(widths["document"]) / np.median(widths["token"])
        print(f"{n_documents:>10}{100 * covered['token'] / args.simulations:>10.1f}%"
              f"{100 * covered['document'] / args.simulations:>13.1f}%{ratio:>12.2f}x"
              f"{np.median(seconds):>16.4f}")


if __name__ == "__main__":
    main()

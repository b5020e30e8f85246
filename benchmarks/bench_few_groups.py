"""How often compare_models calls equal models different, with few groups.

    python benchmarks/bench_few_groups.py [--repeat 1000] [--groups 5 10 20 50]

Three models whose expected NLLs are equal by construction (each row's logit of
its label moved by a shift of its group drawn for each model apart, so the
models are exchangeable) are compared over ``G`` groups of 40 rows (documents
whose tokens share the shift). At the 5 % level, a test that
holds its size calls the first two different 5 % of the time, and the 95 %
confidence set of the best drops a model at most 5 % of the time.

Printed per ``G``: the share of samples whose pairwise p-value (of the second
model to the first) falls below 0.05 under the normal law (``2 * ndtr(-|z|)``,
skcal's before) and as skcal gives it (Student's t with ``G - 1`` degrees of
freedom), and the share whose best set leaves out a model, from the normal law
of the NLLs and as skcal builds it (the multivariate t).
"""

import argparse

import numpy as np
from scipy.special import ndtr

from skcal import compare_models
from skcal.comparison._best_set import best_set_pvalues, covariance_of_rows

ROWS_PER_GROUP = 40


def sample(rng, n_groups):
    """(models, labels, groups) of one sample under no difference."""
    groups = np.repeat(np.arange(n_groups), ROWS_PER_GROUP)
    n = groups.shape[0]
    logits = rng.normal(size=(n, 3))
    y = rng.integers(0, 3, n)
    models = {}
    for name in ("a", "b", "c"):
        moved = logits.copy()
        moved[np.arange(n), y] += rng.normal(scale=0.5, size=n_groups)[groups]
        models[name] = moved
    return models, y, groups


def rates(rng, n_groups, repeat):
    """(pairwise normal, pairwise skcal, best set normal, best set skcal) rates."""
    counts = np.zeros(4)
    for _ in range(repeat):
        models, y, groups = sample(rng, n_groups)
        pair = compare_models({k: models[k] for k in ("a", "b")}, y, groups=groups,
                              score_type="logits")
        other = [name for name in pair.ranking_ if name != pair.best_][0]
        row = pair.results_[other]
        counts[0] += 2 * ndtr(-abs(row["nll_diff"]) / row["nll_diff_se"]) < 0.05
        counts[1] += row["pvalue"] < 0.05
        three = compare_models(models, y, groups=groups, score_type="logits")
        counts[3] += len(three.best_set_) < 3
        log_lik = [-np.log(np.exp(m - m.max(axis=1, keepdims=True)).sum(axis=1))
                   - m.max(axis=1) + m[np.arange(y.shape[0]), y] for m in models.values()]
        covariance = covariance_of_rows(log_lik, np.ones(y.shape[0]), groups, n_groups)
        nlls = [three.results_[name]["nll"] for name in models]
        normal = best_set_pvalues(nlls, covariance, np.zeros(3))
        counts[2] += (normal <= 0.05).any()
    return counts / repeat


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1000)
    parser.add_argument("--groups", type=int, nargs="+", default=[5, 10, 20, 50])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"equal models, {args.repeat} samples per row; the 5 % level should give 5 %")
    print(f"{'groups':>6} {'pairwise, normal':>17} {'pairwise, skcal':>16} "
          f"{'best set, normal':>17} {'best set, skcal':>16}")
    for n_groups in args.groups:
        shares = rates(rng, n_groups, args.repeat)
        print(f"{n_groups:>6} " + " ".join(f"{share:>{width}.1%}" for share, width in
                                            zip(shares, (17, 16, 17, 16))))


if __name__ == "__main__":
    main()

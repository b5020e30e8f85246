"""compare_models: the numbers against direct computations, and the validity of its
intervals in seeded simulations of documents whose tokens are correlated."""

import numpy as np
import pytest
from scipy.special import log_softmax
from sklearn.exceptions import DataConversionWarning

from skcal import compare_calibrators, compare_models
from skcal.metrics import nll_from_logits


def documents(rng, n_docs, tokens=40, k=5, worse=0.0, spread=0.6):
    """Two models of tokens grouped in documents. The true logits have a
    per-document scale; model A sharpens each document by exp(u_d) and model B
    by exp(-u_d) (u_d symmetric about 0), so they are equally good on average
    but differ document by document; ``worse`` adds noise to B's logits."""
    doc = np.repeat(np.arange(n_docs), tokens)
    truth = rng.normal(size=(n_docs * tokens, k)) * rng.uniform(0.5, 2.0, n_docs)[doc, None]
    y = (truth + rng.gumbel(size=truth.shape)).argmax(axis=1)
    u = rng.normal(scale=spread, size=n_docs)[doc, None]
    a = truth * np.exp(u)
    b = truth * np.exp(-u) + worse * rng.normal(size=truth.shape)
    return {"A": a, "B": b}, y, doc


def test_numbers_equal_direct_computations():
    rng = np.random.default_rng(0)
    models, y, doc = documents(rng, 30)
    result = compare_models(models, y, groups=doc)
    frame = result.to_frame()
    for name, logits in models.items():
        assert abs(frame.loc[name, "nll"] - nll_from_logits(y, logits)) < 1e-12
        assert abs(frame.loc[name, "bits"] - frame.loc[name, "nll"] / np.log(2)) < 1e-12
    worst = result.ranking_[1]
    per_row = (-log_softmax(models[worst], axis=1)[np.arange(y.size), y]
               + log_softmax(models[result.best_], axis=1)[np.arange(y.size), y])
    mean = per_row.mean()
    sums = np.array([(per_row[doc == d] - mean).sum() for d in range(30)])
    se = np.sqrt(30 / 29 * (sums ** 2).sum()) / y.size
    assert abs(frame.loc[worst, "nll_diff"] - mean) < 1e-12
    assert abs(frame.loc[worst, "nll_diff_se"] - se) < 1e-12
    assert list(frame.columns) == ["nll", "nll_diff", "nll_diff_se", "pvalue",
                                   "best_set_pvalue", "perplexity", "bits",
                                   "n_zero_probability"]
    assert "cluster-robust over 30 groups" in str(result)


def coverage(n_sims, n_docs, grouped):
    covered = 0
    for seed in range(n_sims):
        models, y, doc = documents(np.random.default_rng(seed), n_docs, spread=1.0)
        result = compare_models(models, y, groups=doc if grouped else None)
        covered += result.results_[result.ranking_[1]]["pvalue"] > 0.05  # 0 in the 95 % CI
    return covered / n_sims


def test_grouped_intervals_cover_zero_at_their_level_and_ungrouped_ones_do_not():
    """Two models equally good on average, different document by document: the 95 %
    interval of the difference covers 0 in 93-97 % of 400 simulations of 100
    documents of 40 tokens with groups; taken as independent tokens, far less."""
    grouped = coverage(400, 100, grouped=True)
    ungrouped = coverage(400, 100, grouped=False)
    assert 0.93 <= grouped <= 0.97  # measured 0.9625
    assert ungrouped < 0.65  # measured 0.54: the ungrouped error is far too small


def test_power_grows_with_the_documents():
    def power(n_docs):
        hits = 0
        for seed in range(60):
            models, y, doc = documents(np.random.default_rng(seed), n_docs, worse=0.6)
            result = compare_models(models, y, groups=doc)
            hits += result.best_ == "A" and result.results_["B"]["pvalue"] < 0.05
        return hits / 60
    small, medium, large = power(10), power(40), power(160)
    assert small < medium < large and large > 0.9  # measured 0.42, 0.77, 0.97


def test_bootstrap_of_groups_agrees_with_the_cluster_robust_error():
    models, y, doc = documents(np.random.default_rng(7), 80)
    analytic = compare_models(models, y, groups=doc)
    boot = compare_models(models, y, groups=doc, n_bootstrap=2000, random_state=0)
    worst = analytic.ranking_[1]
    ratio = boot.results_[worst]["nll_diff_se"] / analytic.results_[worst]["nll_diff_se"]
    assert 0.85 < ratio < 1.15  # 2000 draws of 80 groups: a few % of sampling error
    assert boot.se_method_ == "bootstrap"


def test_token_logits_with_padding_by_sequence(tmp_path):
    rng = np.random.default_rng(8)
    a = rng.normal(size=(6, 25, 13)).astype(np.float32)
    b = a * 0.5
    y = rng.integers(13, size=(6, 25))
    y[:, 20:] = -100
    np.save(tmp_path / "a.npy", a)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    result = compare_models({"a": mapped, "b": b}, y, ignore_index=-100,
                            groups=np.repeat(np.arange(6), 25).reshape(6, 25))
    keep = y.reshape(-1) != -100
    expected = nll_from_logits(y.reshape(-1)[keep], a.reshape(-1, 13)[keep])
    assert abs(result.results_["a"]["nll"] - expected) < 1e-9  # float32 logits
    assert result.n_rows_ == keep.sum() and result.n_groups_ == 6


@pytest.mark.parametrize("kwargs, message", [
    (dict(models={"a": np.zeros((4, 2))}), "at least two"),
    (dict(metric="brier"), "metric must be 'nll'"),
    (dict(groups=np.zeros(3)), r"groups has shape \(3,\) for 4 rows"),
    # a missing document id made one group of every row without one
    (dict(groups=np.array([1.0, np.nan, 2.0, np.nan])),
     r"groups is missing at 2 rows \(the first at row 1\)"),
    (dict(groups=np.array(["d1", None, "d2", "d2"], dtype=object)), "groups is missing at 1"),
    (dict(models={"a": np.zeros((4, 2)), "b": np.zeros((5, 2))}),
     r"model 'b': y has 4 samples but models\['b'\] has 5"),  # its parameters' names
    (dict(n_bootstrap=1), "n_bootstrap"),
])
def test_bad_input_is_named(kwargs, message):
    given = dict(models={"a": np.zeros((4, 2)), "b": np.ones((4, 2))}, y=[0, 1, 0, 1])
    given.update(kwargs)
    models = given.pop("models")
    with pytest.raises(ValueError, match=message):
        compare_models(models, **given)


def test_labels_given_first_are_named_as_swapped():
    models = {"a": np.zeros((4, 2)), "b": np.ones((4, 2))}
    with pytest.raises(TypeError, match=r"it comes first: compare_models\(models, y\).*"
                                        r"got list"):
        compare_models([0, 1, 0, 1], models)  # the order of the metrics' (y_true, y_prob)


def test_a_dask_model_gives_the_same_ranking():
    da = pytest.importorskip("dask.array")
    models, y, doc = documents(np.random.default_rng(9), 20)
    lazy = {name: da.from_array(logits, chunks=(300, 5)) for name, logits in models.items()}
    eager = compare_models(models, y, groups=doc).to_frame()
    streamed = compare_models(lazy, y, groups=doc).to_frame()
    np.testing.assert_allclose(streamed.to_numpy(dtype=float), eager.to_numpy(dtype=float),
                               rtol=1e-12, equal_nan=True)


def test_models_given_as_frames_are_read_by_their_columns():
    pd = pytest.importorskip("pandas", reason="the DataFrame case needs pandas")
    rng = np.random.default_rng(12)
    logits = rng.normal(scale=2.0, size=(500, 3))
    y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    names = ["cat", "dog", "eel"]
    frames = {"sharp": pd.DataFrame(logits, columns=names),
              "flat": pd.DataFrame(logits / 3, columns=names)}
    # was an AttributeError ('DataFrame' object has no attribute 'dtype') deciding the type
    on_frames = compare_models(frames, y)
    on_arrays = compare_models({"sharp": logits, "flat": logits / 3}, y)
    assert on_frames.ranking_ == on_arrays.ranking_
    for name in frames:  # the same computation on the same float64 numbers
        assert on_frames.results_[name]["nll"] == on_arrays.results_[name]["nll"]
    reordered = {"sharp": frames["sharp"], "flat": frames["flat"][["dog", "cat", "eel"]]}
    with pytest.raises(ValueError, match=r"models\['flat'\] has the score columns \['dog', "
                                         r"'cat', 'eel'\], but models\['sharp'\] has"):
        compare_models(reordered, y)  # one model's classes read as others'


def test_a_model_that_gives_an_observed_label_zero_probability_ranks_after_the_others():
    # its clipped NLL (708 nats a zero) could rank it first; its NLL is infinite
    rng = np.random.default_rng(3)
    y = rng.integers(3, size=2000)
    sure = np.full((2000, 3), 0.01)
    sure[np.arange(2000), y] = 0.98
    for row in (0, 1):  # two rows wrong for sure
        sure[row] = 0.5
        sure[row, y[row]] = 0.0
    vague = np.full((2000, 3), 1 / 3)
    result = compare_models({"sure": sure, "vague": vague}, y)
    assert result.results_["sure"]["nll"] < result.results_["vague"]["nll"]  # clipped
    assert result.ranking_ == ["vague", "sure"] and result.best_ == "vague"
    assert result.results_["sure"]["n_zero_probability"] == 2
    assert result.to_frame().loc["vague", "n_zero_probability"] == 0
    assert "sure gave 2 observed label(s) a probability of 0." in str(result)


def test_a_group_per_sequence_names_every_token_of_it():
    # groups of shape (batch,) for tokens of shape (batch, length) were refused:
    # "groups has shape (6,) for 150 rows"
    rng = np.random.default_rng(51)
    logits = rng.normal(size=(6, 25, 13))
    tokens = (logits + rng.gumbel(size=logits.shape)).argmax(axis=-1)
    tokens[:, 20:] = -100  # padding
    models = {"sharp": logits, "flat": logits / 2}
    per_sequence = compare_models(models, tokens, groups=np.array(list("abcdef")),
                                  ignore_index=-100)
    per_token = compare_models(models, tokens, groups=np.repeat(list("abcdef"), 25).reshape(
        6, 25), ignore_index=-100)
    assert per_sequence.n_groups_ == per_token.n_groups_ == 6
    np.testing.assert_equal(per_sequence.results_, per_token.results_)  # the same sums
    with pytest.raises(ValueError, match=r"groups has shape \(5,\) for 150 rows"):
        compare_models(models, tokens, groups=np.arange(5), ignore_index=-100)


def test_comparisons_without_labels_say_they_need_them():
    scores = np.random.default_rng(0).normal(size=(300, 3))
    # were "y has 0 samples but models['a'] has 300" and "y should be a 1d array, got
    # an array of shape ()"
    with pytest.raises(ValueError, match=r"^compare_models needs y, the labels the models "
                                         r"are scored on; got y=None\.$"):
        compare_models({"a": scores, "b": scores / 2}, None)
    with pytest.raises(ValueError, match=r"^compare_calibrators needs y, the labels of the "
                                         r"rows of X, to score every method on held-out "
                                         r"rows; got y=None\.$"):
        compare_calibrators(scores, None)


def test_a_column_of_labels_is_warned_of_once():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(300, 3))
    y = np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)
    with pytest.warns(DataConversionWarning) as caught:
        column = compare_models({"a": scores, "b": scores / 2, "c": scores * 2}, y[:, None])
    # was once per model
    assert sum(w.category is DataConversionWarning for w in caught) == 1
    flat = compare_models({"a": scores, "b": scores / 2, "c": scores * 2}, y)
    np.testing.assert_equal(column.results_, flat.results_)  # NaN p-value of the best alike

"""The Python snippets of the documentation's pages run, on synthetic inputs of
the names they use (the snippets that need a GPU, files, a cluster or a Spark
session are run elsewhere or not at all: see RUN_ELSEWHERE)."""

import numpy as np
import pytest
from doc_pages import snippets, snippets_of
from scipy.special import softmax

# (page, snippet index) -> why it is not run here
RUN_ELSEWHERE = {
    ("array_api", 0): "needs a CUDA device",
    ("array_api", 1): "needs a CUDA device",
    ("spark", 0): "needs a Spark session and S3",
    **{("spark", index): "needs a Spark session and tables by name: "
                         "tests/spark/test_spark_page_snippets.py runs it"
       for index in range(1, 7)},
}


def draw(rng, n, k=4, scale=2.0):
    """Logits and labels of a model ``scale`` times too confident."""
    logits = rng.normal(scale=3.0, size=(n, k))
    return logits, (logits / scale + rng.gumbel(size=logits.shape)).argmax(axis=1)


def inputs(page):
    """The names a page's snippets use, as synthetic data."""
    rng = np.random.default_rng(0)
    val_logits, val_y = draw(rng, 1500)
    test_logits, test_y = draw(rng, 1000)
    names = {"val_logits": val_logits, "val_y": val_y, "test_logits": test_logits,
             "test_y": test_y, "y_test": test_y, "y": test_y,
             "proba": softmax(test_logits, axis=1)}
    if page == "choosing_models":
        logits = rng.normal(size=(20, 30, 11))
        names.update(logits_1000=logits, logits_2000=1.5 * logits,
                     models={"step-1000": logits, "step-2000": 1.5 * logits},
                     tokens=(logits + rng.gumbel(size=logits.shape)).argmax(axis=-1),
                     document_ids=np.repeat(np.arange(20), 30).reshape(20, 30),
                     samples=test_logits + rng.normal(size=(5, 1000, 4)))
        for s, member in enumerate(names["samples"]):  # an ensemble saved member by member
            np.save(f"member{s}.npy", member)
        names.update(member_files=[f"member{s}.npy" for s in range(5)])
    if page == "testing_calibration":  # token logits of padded sequences, 4 per document
        logits = rng.normal(scale=2.0, size=(16, 25, 30))
        labels = (logits + rng.gumbel(size=logits.shape)).argmax(axis=-1)
        labels[::2, 20:] = -100
        names.update(logits=logits, labels=labels, document_of_sequence=np.arange(16) // 4)
    if page == "user_guide":
        from sklearn.datasets import make_classification
        from sklearn.svm import SVC

        X, y = make_classification(400, n_classes=3, n_informative=5, random_state=0)
        names.update(X=X, y=y, proba=softmax(X[:, :3], axis=1), logits=X[:, :3],
                     X_cal=X[:200], y_cal=y[:200],
                     fitted_model=SVC().fit(X[200:], y[200:]),
                     weights=rng.uniform(0.5, 2.0, size=400), patient_ids=np.arange(400) % 40,
                     model=SVC(), grid={"C": [0.5, 1.0]})
    if page == "language_models":  # the files it reads, in the working folder
        for split in ("val", "test"):
            logits, tokens = draw(rng, 2000, k=50)
            np.save(f"{split}_logits.npy", logits.astype(np.float16))
            np.save(f"{split}_tokens.npy", tokens)
        batch_logits = rng.normal(scale=3.0, size=(6, 40, 50)).astype(np.float16)
        input_ids = rng.integers(0, 50, size=(6, 40))
        input_ids[:3, 30:] = -100  # padded sequences
        names.update(logits=batch_logits, input_ids=input_ids)
    if page == "monitoring":
        import pandas as pd
        import skcal

        reference_scores, reference_labels = draw(rng, 3000)
        batch_logits, batch_labels = draw(rng, 1200)
        batch_scores = 3.0 * batch_logits  # the model grew overconfident: recalibrate
        frame = pd.DataFrame(batch_scores, columns=[f"proba_{i}" for i in range(4)])
        frame["label"] = batch_labels
        names.update(skcal=skcal, reference_scores=reference_scores,
                     reference_labels=reference_labels, batch_scores=batch_scores,
                     batch_labels=batch_labels, frame=frame,
                     scores=batch_scores[:50], request_ids=np.arange(50) + 10**6,
                     labelled_ids=np.arange(20) + 10**6, labels=batch_labels[:20])
    return names


@pytest.mark.parametrize("page, index, code", snippets(),
                         ids=[f"{page}-{index}" for page, index, _ in snippets()])
def test_the_snippet_runs(page, index, code, tmp_path, monkeypatch):
    if (page, index) in RUN_ELSEWHERE:
        pytest.skip(RUN_ELSEWHERE[(page, index)])
    if "distributed" in code:
        pytest.importorskip("distributed", reason="the snippet starts a Dask cluster")
    if "plot(" in code:
        matplotlib = pytest.importorskip("matplotlib", reason="the snippet draws a plot")
        matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # files a snippet saves land here
    namespace = inputs(page)
    if page == "monitoring" and index > 0:  # the state the page's first snippet left
        exec(snippets_of("monitoring")[0], namespace)  # noqa: S102 (the documented code)
    if page == "monitoring" and index == 1:
        # the labelled rows the user holds, and a chunk whose labels have not come yet
        # (the table's last verdict "too few labels": the snippet read it, and never
        # recalibrated where labels come late)
        namespace.update(row_numbers=np.arange(namespace["monitor"].n_rows_),
                         raw_scores=np.r_[namespace["batch_scores"], namespace["batch_scores"]],
                         labels=np.r_[namespace["batch_labels"], namespace["batch_labels"]])
        namespace["monitor"].update(np.r_[namespace["batch_scores"], namespace["batch_scores"]][:1600])
        assert namespace["monitor"].to_frame()["verdict"].iloc[-1] == "too few labels"
    try:
        exec(code, namespace)  # noqa: S102 (the documented code itself)
    finally:
        if "client" in namespace:  # the cluster a snippet started
            namespace["client"].close()
            namespace["client"].cluster.close()
    if page == "monitoring" and index == 1:
        assert (tmp_path / "calibrator.json").exists()  # the drift was recalibrated


def test_every_page_with_python_has_a_snippet_run_here():
    pages = {page for page, _, _ in snippets()}
    assert {"index", "user_guide", "monitoring", "testing_calibration",
            "choosing_models"} <= pages

"""
Calibrating a language model's token logits
===========================================

A language model scores every token of its vocabulary at every position: its
outputs are logits of shape (n_tokens, vocabulary). This example makes a small one:
a synthetic "language" whose next token depends on the previous one, and a bigram
model counted from too little text with almost no smoothing, so it is sure of
transitions it has seen and near-certain that unseen ones never happen, the
over-confidence of a model trained too long.

The logits are written to a float16 ``.npy`` file, as a language model's evaluation
would be, and read memory-mapped: skcal computes on them block by block, in float32,
without loading the file. The same code runs on files far larger than memory and on
Dask arrays.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skcal import ReliabilityDisplay, TemperatureScaling
from skcal.metrics import expected_calibration_error, nll_from_logits, perplexity

rng = np.random.default_rng(0)
VOCABULARY = 1000

# %%
# A language and an over-confident bigram model
# ----------------------------------------------
# Each token's successor is drawn from a peaked distribution over the vocabulary.
# The model counts bigrams in 30,000 training tokens and adds only 0.001 to each
# count.
transition = rng.dirichlet(np.full(VOCABULARY, 0.02), size=VOCABULARY)


def generate(n_tokens):
    tokens = np.empty(n_tokens, dtype=np.int64)
    tokens[0] = rng.integers(VOCABULARY)
    cumulative = transition.cumsum(axis=1)
    draws = rng.random(n_tokens)
    for i in range(1, n_tokens):
        tokens[i] = min(np.searchsorted(cumulative[tokens[i - 1]], draws[i]), VOCABULARY - 1)
    return tokens


counts = np.zeros((VOCABULARY, VOCABULARY))
train = generate(30_000)
np.add.at(counts, (train[:-1], train[1:]), 1.0)
log_bigram = np.log((counts + 0.001) / (counts + 0.001).sum(axis=1, keepdims=True))

# %%
# Token logits on disk, as float16
# --------------------------------
# For a validation text and a test text, row ``i`` holds the model's logits for
# token ``i + 1`` given token ``i``.
folder = Path(tempfile.mkdtemp())


def write_logits(name, n_tokens):
    text = generate(n_tokens + 1)
    np.save(folder / f"{name}.npy", log_bigram[text[:-1]].astype(np.float16))
    return np.load(folder / f"{name}.npy", mmap_mode="r"), text[1:]


val_logits, val_tokens = write_logits("validation", 20_000)
test_logits, test_tokens = write_logits("test", 20_000)
print(type(test_logits).__name__, test_logits.shape, test_logits.dtype)

# %%
# Perplexity, bits per token and top-1 ECE, before and after
# ----------------------------------------------------------
# ``perplexity`` and ``nll_from_logits`` work from the logits; the ECE of the top-1
# confidence takes ``logits=`` too, so no probability matrix is written anywhere.
ts = TemperatureScaling().fit(val_logits, val_tokens)
calibrated = ts.predict_log_proba(test_logits)  # log-probabilities are logits too

print(f"temperature T = {ts.temperature_:.3f}, fitted in {ts.n_iter_} passes over the file")
for name, logits in [("model", test_logits), ("temperature-scaled", calibrated)]:
    print(
        f"{name:>19}: perplexity {perplexity(test_tokens, logits=logits):7.1f}, "
        f"{nll_from_logits(test_tokens, logits, base=2):.3f} bits per token, "
        f"top-1 ECE {100 * expected_calibration_error(test_tokens, logits=logits):.1f} %"
    )

# %%
# The reliability diagram of the top-1 token shows where the confidence goes wrong:
# the model's confident predictions are right far less often than it claims.
fig, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
for name, logits in [("model", test_logits), ("temperature-scaled", calibrated)]:
    log_p = np.asarray(logits, dtype=np.float64)
    proba = np.exp(log_p - log_p.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    ReliabilityDisplay.from_predictions(test_tokens, proba, name=name, ax=ax, hist=False)
ax.set_title("Top-1 token confidence")
plt.show()

# %%
# The same on a Dask array
# ------------------------
# Given a Dask array, each pass of the fit is one Dask graph whose tasks reduce their
# own rows; only a few numbers per pass come back. With no cluster running this uses
# Dask's threads; with a ``dask.distributed.Client`` it runs on the cluster.
# :func:`skcal.io.dask_scores` opens the file so that each task reads its own rows on
# its worker (``da.from_array`` of the memory map would put the memory map in the
# graph, and a distributed client would pickle the whole file with it).
from skcal.io import dask_scores  # noqa: E402

val_dask = dask_scores(folder / "validation.npy", rows_per_chunk=5000)
ts_dask = TemperatureScaling().fit(val_dask, val_tokens)
print(f"T on the Dask array: {ts_dask.temperature_:.6f} (memory map: {ts.temperature_:.6f})")
lazy = ts_dask.predict_proba(dask_scores(folder / "test.npy", rows_per_chunk=5000))
print(type(lazy).__name__, lazy.chunks[0])

"""
Choosing between checkpoints by held-out NLL, document by document
==================================================================

Two checkpoints of one model are compared on held-out documents. The rows (tokens) of
a document share its topic, which the model does not see, so their errors are
correlated: a standard error that treats the rows as independent is far too small, and
a difference that is noise looks significant. :func:`skcal.compare_models` with
``groups`` (the document of each row) gives the standard error over documents.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import SGDClassifier

from skcal import compare_models

# %%
# Documents of 100 rows each; every document shifts the true log-odds of the 6
# classes by its own amount (its topic), which the 10 features do not show.
rng = np.random.default_rng(0)
n_docs, per_doc, n_classes = 400, 100, 6
doc = np.repeat(np.arange(n_docs), per_doc)
X = rng.normal(size=(n_docs * per_doc, 10))
W = rng.normal(scale=0.7, size=(10, n_classes))
topic = rng.normal(scale=1.2, size=(n_docs, n_classes))
logits = X @ W + topic[doc]
y = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
train, held_out = doc < 300, doc >= 300

# %%
# A linear model trained by SGD on the training documents in order, ten documents per
# step, for three epochs. Checkpoints 26 and 29 of the last epoch differ mostly in
# which topics their class offsets lean to, after the documents they saw last: each is
# better on some held-out documents and worse on others.
model = SGDClassifier(loss="log_loss", alpha=1e-4, learning_rate="constant", eta0=0.01,
                      random_state=0)
checkpoints = {}
for epoch in range(3):
    for step, start in enumerate(range(0, int(train.sum()), 1000)):
        rows = slice(start, start + 1000)
        model.partial_fit(X[train][rows], y[train][rows], classes=np.arange(n_classes))
        if epoch == 2 and step in (26, 29):
            checkpoints[f"step {step}"] = model.predict_log_proba(X[held_out])

# %%
# Ranked with the rows taken as independent, and with the documents as groups.
naive = compare_models(checkpoints, y[held_out])
by_document = compare_models(checkpoints, y[held_out], groups=doc[held_out])
print(naive)
print()
print(by_document)

# %%
# The same difference, two intervals: the one over rows excludes 0 (p = 0.003), the
# one over the 100 held-out documents does not (p = 0.31; its standard error is three
# times larger). The documents are the units that vary; a checkpoint chosen on the
# narrow interval is chosen on noise.
fig, axes = plt.subplots(2, 1, figsize=(6.5, 3.2), sharex=True, layout="constrained")
naive.plot(ax=axes[0])
axes[0].set_title("rows taken as independent", fontsize="medium")
by_document.plot(ax=axes[1])
axes[1].set_title("over documents (groups)", fontsize="medium")
plt.show()

"""Out-of-fold probabilities of a comparison, predicted by each fold's fitted
method and pooled in the input rows' order when first read."""

from collections.abc import Mapping

import numpy as np


class OutOfFoldPredictions(Mapping):
    """Each method's out-of-fold probabilities, by method name.

    A read-only mapping: ``predictions[name]`` is an array of shape
    (n_samples, n_classes) in the order of the input rows, predicted by the
    method as fitted on each fold for that fold's held-out scores, the first
    time it is read (then kept). The folds keep their fitted methods, not
    their probabilities: a comparison that is only ranked never holds a copy
    of every method's probabilities (7 x 1 GB at 4000 x 32000, a
    language-model vocabulary, with the default methods).

    Parameters
    ----------
    n_samples : int
    folds : list of (ndarray, callable, dict)
        Per fold: its held-out rows, a function that returns their scores,
        and each method fitted on the fold's training part, by name.
    predict : callable
        ``predict(name, fitted, scores)``: a fitted method's probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import TemperatureScaling
    >>> logits = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.2, 1.5]])
    >>> fitted = TemperatureScaling().fit(logits, [0, 1, 1, 0])
    >>> folds = [(np.array([1, 2]), lambda: logits[[1, 2]], {"a": fitted}),
    ...          (np.array([0, 3]), lambda: logits[[0, 3]], {"a": fitted})]
    >>> predictions = OutOfFoldPredictions(
    ...     4, folds, lambda name, fitted, scores: fitted.predict_proba(scores))
    >>> list(predictions), bool(np.allclose(predictions["a"], fitted.predict_proba(logits)))
    (['a'], True)
    """

    def __init__(self, n_samples, folds, predict):
        self._n_samples = n_samples
        self._folds = folds
        self._predict = predict
        self._names = list(folds[0][2]) if folds else []
        self._pooled = {}

    def __getitem__(self, name):
        if name not in self._pooled:
            if name not in self._names:
                raise KeyError(name)
            pooled = None
            for test, scores, fitted in self._folds:
                proba = self._predict(name, fitted[name], scores())
                if pooled is None:
                    pooled = np.empty((self._n_samples,) + proba.shape[1:], dtype=proba.dtype)
                pooled[test] = proba
            self._pooled[name] = pooled
        return self._pooled[name]

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __repr__(self):
        return f"OutOfFoldPredictions(methods={self._names}, n_samples={self._n_samples})"

"""Rows held elsewhere: a table whose row blocks are read where they live (the
partitions of a Spark DataFrame, say), so that only each block's small result
comes back to the process that asked.

The row engine knows such a table by one class attribute, ``_skcal_remote_table
= True``, and asks it for three things only:

- ``shape`` and ``dtype`` of its scores, and ``looks_like_probabilities``, what
  ``score_type='auto'`` resolves to, judged on every row;
- ``reduce(reader, func, vectors, combine, block_elements)``: the block loop of
  :class:`~skcal.rows._blocks.Rows` run where the rows are, with the reader's
  ``prepare``, and the partial results combined (one pass);
- ``check_labels(...)``: the labels and weights that live beside the scores,
  checked as :func:`~skcal.rows._labels.check_labels_and_weights` checks arrays;
- ``sample(reader)``: a small weighted sample of prepared rows, their column
  indices and weights, or None (a fit's starting point, as a strided subsample
  gives it for arrays).

Labels and weights of such a table never come to this process as arrays: they
are :class:`RemoteVector` tokens, which per-block functions receive as the
slices of their block, and which know their totals. Nothing here imports the
library of the table.
"""

import numpy as np


def is_remote(data):
    """True for a remote table of scores (or one of its label or weight vectors).

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.rows._remote import is_remote
    >>> is_remote(np.zeros(3))
    False
    """
    return bool(getattr(type(data), "_skcal_remote_table", False))


class RemoteVector:
    """The labels (as column indices) or the weights of a remote table's rows: read
    beside the scores in every block, never here.

    Parameters
    ----------
    table : object
        The remote table the vector belongs to.

    kind : {'labels', 'weights'} or object
        Or a vector the table derives from them in each block (its ``read``).

    n_rows : int

    class_weights : ndarray of shape (n_classes,)
        The weight (or the count, unweighted) of each class's rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.rows._remote import RemoteVector, class_totals
    >>> y = RemoteVector(None, "labels", 5, np.array([2.0, 3.0]))
    >>> class_totals(y, None, 3)
    array([2., 3., 0.])
    """

    _skcal_remote_table = True
    ndim = 1

    def __init__(self, table, kind, n_rows, class_weights):
        self.table = table
        self.kind = kind
        self.shape = (int(n_rows),)
        self.class_weights = np.asarray(class_weights, dtype=np.float64)

    def __len__(self):
        return self.shape[0]

    def sum(self):
        """The total weight (weights), the number of rows (labels), or what a
        derived vector's kind says (its ``total()``)."""
        if hasattr(self.kind, "total"):
            return self.kind.total()
        return float(self.class_weights.sum()) if self.kind == "weights" else self.shape[0]

    def max(self):
        """The largest column index a row holds (labels)."""
        return int(np.flatnonzero(self.class_weights)[-1])

    def __getitem__(self, index):
        raise TypeError(
            f"The {self.kind} of a remote table are read beside its scores, block by "
            "block; they cannot be indexed here. This computation needs its rows in "
            "memory: collect a sample of the table and pass arrays."
        )

    def __array__(self, dtype=None, copy=None):
        self.__getitem__(None)

    def __repr__(self):
        return f"RemoteVector({self.kind}, {self.shape[0]} rows)"


def class_totals(y_index, sample_weight, minlength):
    """The weight of each class's rows: ``np.bincount(y_index, weights=sample_weight,
    minlength=minlength)``, also for the label and weight vectors of a remote table
    (whose totals are known from its survey)."""
    if isinstance(y_index, RemoteVector):
        totals = (sample_weight if isinstance(sample_weight, RemoteVector)
                  else y_index).class_weights
        return np.pad(totals, (0, max(0, minlength - totals.shape[0])))
    return np.bincount(y_index, weights=sample_weight, minlength=minlength)


def refuse_rows_here(reader, what):
    """The error for a computation that would bring a remote table's rows here."""
    raise ValueError(
        f"{what} needs the rows themselves in this process, and these scores live in "
        f"a remote table ({type(reader.data).__name__}); only sums over rows are "
        "computed where it lives. Use a method that streams, or collect a sample "
        "of the table and pass arrays."
    )

"""The classes of score columns read from their names: a table of scores whose
columns are named after the classes (``dog, cat, bird`` or ``proba_dog,
proba_cat, proba_bird``) says which column is which class, in any order.

Without the names, labels that are not column indices are matched to the
columns in sorted order, so a table whose columns are not in that order would
be read with every class mistaken for another, silently.
"""

import os

import numpy as np


def column_classes(names, y):
    """The class of each score column, from the columns' ``names``, or None when
    the names name no label of ``y``.

    A column names a class when its name, or its name without the part that
    every name shares at its start and at its end (``proba_``), is the label's
    text. Names that are the column positions ``0, 1, ...`` or ``1, 2, ...``
    (as pandas and R name the columns of an array, or ``proba_0, proba_1,
    ...``) say nothing. When the names match some labels,
    every label must name a column.

    Parameters
    ----------
    names : sequence of str or None
        The score columns' names, in column order.
    y : ndarray of shape (n_samples,)
        The labels.

    Returns
    -------
    classes : ndarray of shape (len(names),), of the labels' dtype, or None

    Examples
    --------
    >>> import numpy as np
    >>> column_classes(["proba_dog", "proba_cat", "proba_bird"],
    ...                np.array(["cat", "bird", "dog", "cat"])).tolist()
    ['dog', 'cat', 'bird']
    >>> column_classes(["2", "0", "1"], np.array([0, 1, 2])).tolist()
    [2, 0, 1]
    >>> print(column_classes(["p_0", "p_1", "p_2"], np.array([1, 2, 3])))  # positions
    None
    >>> print(column_classes(["V1", "V2", "V3"], np.array([0, 1, 2])))  # R's, from 1
    None
    >>> column_classes(["dog", "cat"], np.array(["dog", "fish"]))
    Traceback (most recent call last):
    ...
    ValueError: The score columns are named after classes (dog, cat), and the label 'fish' names none of them; give one score column per class, named after it, or drop the rows labelled 'fish'.
    """
    if names is None or len(names) < 2:
        return None
    names = [str(name) for name in names]
    positions = ([str(i) for i in range(len(names))], [str(i + 1) for i in range(len(names))])
    try:
        present = np.unique(np.asarray(y))
    except TypeError:  # labels of mixed types (None among text): the encoder names them
        return None
    texts = {str(plain(label)): label for label in present}
    for candidates in (names, _stems(names)):
        if candidates is None or candidates in positions or not texts.keys() & set(candidates):
            continue
        if len(set(candidates)) < len(candidates):
            raise ValueError(f"The score columns' names ({', '.join(names)}) name a class "
                             "twice; give each class one column.")
        unnamed = [text for text in texts if text not in candidates]
        if unnamed:
            which = ", ".join(repr(plain(texts[text])) for text in unnamed[:10])
            raise ValueError(
                f"The score columns are named after classes ({', '.join(names)}), and the "
                f"label{'s' if len(unnamed) > 1 else ''} {which} "
                f"name{'' if len(unnamed) > 1 else 's'} none of them; give one score column "
                f"per class, named after it, or drop the rows labelled {which}.")
        return _typed(candidates, texts, present, names)
    return None


def _stems(names):
    """The names without the text all of them begin and end with, or None when
    they share none (or nothing would be left of some name)."""
    prefix = os.path.commonprefix(names)
    suffix = os.path.commonprefix([name[::-1] for name in names])[::-1]
    if not prefix and not suffix:
        return None
    end = len(suffix)
    stems = [name[len(prefix):len(name) - end] for name in names]
    if not all(stems):
        return None
    return stems


def _typed(candidates, texts, present, names):
    """The class of each column as a label: the label itself where one is named,
    else the name read as the labels' type (a class absent from ``y``)."""
    classes = []
    for candidate in candidates:
        if candidate in texts:
            classes.append(texts[candidate])
        elif present.dtype.kind in "OUS":
            classes.append(candidate)
        else:
            try:
                classes.append(np.array(candidate).astype(present.dtype)[()])
            except ValueError:
                raise ValueError(
                    f"The score columns are named {', '.join(names)}: some are labels "
                    f"and {candidate!r} is not a label of their type ({present.dtype}); "
                    "name every column after its class.") from None
    return np.array(classes, dtype=object if present.dtype.kind == "O" else None)


def plain(label):
    """A label as plain Python, for messages: ``-100``, not ``np.int64(-100)``."""
    return label.item() if isinstance(label, np.generic) else label


def sorting_order(classes):
    """The permutation that sorts ``classes``, or None for None or sorted classes.

    >>> sorting_order(np.array(["dog", "cat", "bird"])).tolist()
    [2, 1, 0]
    >>> print(sorting_order(np.array([0, 1, 2])))
    None
    """
    if classes is None:
        return None
    order = np.argsort(np.asarray(classes), kind="stable")
    return None if np.array_equal(order, np.arange(order.shape[0])) else order


def positions_of(wanted, classes):
    """The position among ``classes`` of each class of ``wanted`` (matched by
    text), or None where they are the same classes in the same order.

    >>> positions_of(["dog", "cat", "bird"], np.array(["bird", "cat", "dog"]))
    [2, 1, 0]
    """
    position = {str(c): i for i, c in enumerate(classes)}
    positions = [position[str(c)] for c in wanted]
    return None if positions == list(range(len(classes))) else positions

"""Pandas inputs given together hold their rows in one order.

Scores, labels, weights, groups and times are paired by position, as
scikit-learn pairs them. A pandas object also carries its rows' own labels,
its index: when two inputs hold the same index labels in different orders
(one was sorted or shuffled after the other was taken), pairing by position
would take one row's scores with another row's label, without a word.
:func:`check_row_order` refuses that. Indexes of different labels (one reset
with ``reset_index``, say) are left to position, as scikit-learn leaves them.
"""


def check_row_order(**inputs):
    """Refuse pandas inputs whose indexes hold the same labels in different orders.

    Parameters
    ----------
    **inputs : objects by the names the caller's user knows them by
        Inputs other than pandas Series and DataFrames are not looked at.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"cat": [0.9, 0.2], "dog": [0.1, 0.8]}, index=[7, 3])
    >>> check_row_order(X=scores, y=pd.Series(["cat", "dog"], index=[7, 3]))
    >>> check_row_order(X=scores, y=pd.Series(["dog", "cat"], index=[3, 7]))
    Traceback (most recent call last):
    ...
    ValueError: y and X hold the same rows (their pandas index) in different orders, and rows are paired by position, so a row of y would be taken with another row of X. Put y in X's order (y.loc[X.index]), or, if they already are in one order, pass y.to_numpy().
    """
    indexed = [(name, value.index) for name, value in inputs.items() if _is_pandas(value)]
    if len(indexed) < 2:
        return
    first_name, first = indexed[0]
    for name, index in indexed[1:]:
        if index.equals(first) or len(index) != len(first):
            continue
        try:
            same_labels = index.sort_values().equals(first.sort_values())
        except TypeError:  # labels of types that do not sort together: not one set
            continue
        if same_labels:
            raise ValueError(
                f"{name} and {first_name} hold the same rows (their pandas index) in "
                "different orders, and rows are paired by position, so a row of "
                f"{name} would be taken with another row of {first_name}. Put {name} in "
                f"{first_name}'s order ({name}.loc[{first_name}.index]), or, if they "
                f"already are in one order, pass {name}.to_numpy().")


def _is_pandas(value):
    return type(value).__module__.startswith("pandas") and hasattr(value, "index")

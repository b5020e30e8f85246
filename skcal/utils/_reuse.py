"""Work that several calibrators repeat on the same scores, done once while
:func:`~skcal.compare_calibrators` fits them all on one fold.

Every candidate of a comparison fits on the same training scores and predicts
the same held-out scores, and several of them begin with the same work on those
arrays: the logits of probabilities, the one-vs-rest log-odds of every class
(their extremes per class, their sorted values), a temperature fit, a
vector-scaling fit. ``with reusing(train, test):`` names the arrays that stay
unchanged for the block; inside it, :func:`reused` returns what
was computed for the same inputs if they are such arrays (or arrays computed
from them here, which are made read-only), and computes it otherwise; outside,
it always computes. Labels and weights are compared by value, so a calibrator
fitted in a comparison gets bit for bit what it would get alone.

Two exceptions, by design: :func:`held` hands out a result only if it is
already there, for a warm start that would cost more than it saves if
computed for it. Platt scaling also starts each class's map at the
temperature fit's slope when the block holds that fit (on the CIFAR models
of ``shared/data``, half the Newton passes), and beta calibration starts from
Platt scaling's fit (beta's ``a = b`` maps are Platt's, so that is the best
start among them: half the passes or fewer). Alone, they start as before.
Either way they reach the same optimum to the fit's tolerance, not bit for
bit.

Think twice before sharing more: only a pure function of its inputs belongs
here, and what is held here lives as long as the block.
"""

import contextvars
from contextlib import contextmanager

import numpy as np

# (results by key, the arrays that may be recognised by identity, by id)
_state = contextvars.ContextVar("skcal_reused", default=None)


@contextmanager
def reusing(*arrays):
    """Share :func:`reused` results on ``arrays`` within the block (per thread).

    The arrays must not change inside the block; they are kept alive by it, so
    that their ids stay theirs.
    """
    token = _state.set(({}, {id(a): a for a in arrays}))
    try:
        yield
    finally:
        _state.reset(token)


def is_reusable(array):
    """True inside :func:`reusing` for one of its arrays (or a result on them)."""
    state = _state.get()
    return state is not None and id(array) in state[1]


def _value_key(vector):
    if vector is None:
        return None
    vector = np.asarray(vector)
    return vector.dtype.str, vector.shape, vector.tobytes()


def reused(name, compute, *, same, equal=(), options=(), accept=None):
    """``compute()``, or its result for the same inputs inside :func:`reusing`.

    Parameters
    ----------
    name : str
        What is computed.
    compute : callable
        Computes it, without arguments.
    same : tuple of ndarray
        Input arrays, recognised by identity; the result is shared only when
        they are the block's arrays (an array result then becomes one too).
    equal : tuple of ndarray or None, default=()
        Input vectors (labels, weights), recognised by value.
    options : tuple, default=()
        Other inputs, hashable.
    accept : callable, default=None
        ``accept(result) -> bool``: whether a result computed for these inputs
        (and others that the key leaves out) is the one ``compute`` would give;
        None accepts the first.

    Examples
    --------
    >>> import numpy as np
    >>> scores, calls = np.ones(3), []
    >>> def total():
    ...     calls.append(1)
    ...     return scores.sum()
    >>> with reusing(scores):
    ...     first = reused("total", total, same=(scores,))
    ...     second = reused("total", total, same=(scores,))
    >>> float(second), len(calls)
    (3.0, 1)
    >>> float(reused("total", total, same=(scores,))), len(calls)  # outside: computed
    (3.0, 2)
    """
    if not all(is_reusable(a) for a in same):
        return compute()
    results, arrays = _state.get()
    found = results.setdefault(_key(name, same, equal, options), [])
    for result in found:
        if accept is None or accept(result):
            return result
    result = compute()
    found.append(result)
    if isinstance(result, np.ndarray):
        result.setflags(write=False)  # shared: a write would change the others' input
        arrays[id(result)] = result
    return result


def _key(name, same, equal, options):
    return (name, tuple(id(a) for a in same), tuple(_value_key(v) for v in equal),
            tuple(options))


def held(name, *, same, equal=(), options=()):
    """What :func:`reused` computed for these inputs in this block, or None
    (nothing is computed).

    For a warm start: a result that another candidate of the block computed
    and that would cost more to compute than it saves.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.ones(3)
    >>> with reusing(scores):
    ...     before = held("total", same=(scores,))
    ...     _ = reused("total", scores.sum, same=(scores,))
    ...     after = held("total", same=(scores,))
    >>> before, float(after)
    (None, 3.0)
    """
    if not all(is_reusable(a) for a in same):
        return None
    found = _state.get()[0].get(_key(name, same, equal, options), [])
    return found[0] if found else None


def plain_array(rows):
    """The numpy array behind :class:`~skcal.rows._blocks.Rows` that hand it out as it
    is (in memory, no per-block preparation, in its own compute dtype), else None."""
    data = rows.data
    if (rows.prepare is None and rows.xp is None and not rows.is_dask
            and type(data) is np.ndarray and data.dtype == rows.dtype):
        return data
    return None

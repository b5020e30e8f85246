"""Work that several calibrators repeat on the same scores, done once when
:func:`~skcal.compare_calibrators` fits them all on one fold: the
:class:`FoldCache` it passes to each candidate as ``cache=``.

Every candidate of a comparison fits on the same training scores and predicts
the same held-out scores, and several of them begin with the same work on those
arrays (:class:`Key` lists it all). ``FoldCache(train, test)`` names the arrays
that stay unchanged while it is used; each function that may share work takes
the cache as its ``cache`` argument, and :func:`reused` returns what was
computed for the same inputs if they are such arrays (or arrays computed from
them, which are made read-only), and computes it otherwise. Without a cache
(``cache=None``, the default everywhere) everything is computed: there is no
other state. Labels and weights are compared by value, so a calibrator fitted
with the cache gets bit for bit what it would get alone.

Two exceptions, by design: :func:`held` hands out a result only if it is
already there, for a warm start that would cost more than it saves if
computed for it. Platt scaling also starts each class's map at the
temperature fit's slope when the cache holds that fit (on the CIFAR models
of ``shared/data``, half the Newton passes), and beta calibration starts from
Platt scaling's fit (beta's ``a = b`` maps are Platt's, so that is the best
start among them: half the passes or fewer). On the folds after the first,
both start from the first fold's fits instead (:func:`offer_start`, the
cache's ``starts``). Alone, they start as before. Either way they reach the
same optimum to the fit's tolerance, not bit for bit
(``tests/comparison/test_fit_alone.py`` states the tolerance).

Think twice before sharing more: only a pure function of its inputs belongs
here, and what is held here lives as long as the cache.
"""

import enum

import numpy as np


class Key(enum.Enum):
    """What a :class:`FoldCache` may hold: the one list of the work shared."""

    CHECKED_SCORES = "the scores checked (finite, numeric) and their type resolved"
    LOGITS = "the logits of scores given as probabilities"
    ZERO_PROBABILITY_FLOOR = "the probability exact zeros of the scores are read as"
    ONE_VS_REST_SCORES = "every class's one-vs-rest log-odds"
    ONE_VS_REST_SCORES_BY_CLASS = "a group of classes' one-vs-rest log-odds, each contiguous"
    SORTED_ONE_VS_REST_SCORES = "a group of classes' one-vs-rest log-odds, each sorted"
    ONE_VS_REST_EXTREMES = "each one-vs-rest problem's extreme scores on either side"
    INVERSE_TEMPERATURE = "temperature scaling's fit (vector and matrix scaling start there)"
    VECTOR_SCALING = "vector scaling's fit (matrix scaling starts there)"
    PLATT_FIT = "Platt scaling's fit (beta calibration starts there)"
    BETA_FIT = "beta calibration's fit (the other folds' start)"


class FoldCache:
    """Results shared by the calibrators fitted on ``arrays`` (and predicting them).

    The arrays must not change while the cache is used; it keeps them alive, so
    that their ids stay theirs.

    Examples
    --------
    >>> import numpy as np
    >>> scores, calls = np.ones(3), []
    >>> def total():
    ...     calls.append(1)
    ...     return scores.sum()
    >>> cache = FoldCache(scores)
    >>> first = reused(cache, Key.LOGITS, total, same=(scores,))
    >>> second = reused(cache, Key.LOGITS, total, same=(scores,))
    >>> float(second), len(calls)
    (3.0, 1)
    >>> float(reused(None, Key.LOGITS, total, same=(scores,))), len(calls)  # no cache
    (3.0, 2)
    """

    def __init__(self, *arrays, starts=None, all_rows=None):
        self._results = {}
        self._arrays = {id(a): a for a in arrays}
        self._starts = {} if starts is None else dict(starts)
        self._offered = {}
        self._all_rows, self._rows = None, {}
        if all_rows is not None:  # (AllRows, the rows of each of the arrays among them)
            self._all_rows = all_rows[0]
            self._rows = {id(a): rows for a, rows in zip(arrays, all_rows[1:])
                          if _distinct(rows)}

    def rows_in_all(self, array):
        """See :func:`rows_in_all`."""
        rows = self._rows.get(id(array))
        return None if rows is None else (self._all_rows, rows)

    def offer_start(self, key, match, fit):
        """See :func:`offer_start`."""
        self._offered[(key, match)] = fit

    def offered_starts(self):
        """The fits offered as starts (see :func:`offer_start`), for the caches of
        the other folds (their ``starts``)."""
        return dict(self._offered)

    def start(self, key, match):
        """See :func:`start_of`."""
        return self._starts.get((key, match))

    def knows(self, array):
        """Whether ``array`` is one of the cache's arrays (or a result on them)."""
        return id(array) in self._arrays

    def _key(self, key, same, equal, options):
        if not isinstance(key, Key):
            raise TypeError(f"A FoldCache key is a Key; got {key!r}.")
        return (key, tuple(id(a) for a in same), tuple(_value_key(v) for v in equal),
                tuple(options))

    def reused(self, key, compute, *, same, equal=(), options=(), accept=None):
        """See :func:`reused`."""
        if not all(self.knows(a) for a in same):
            return compute()
        found = self._results.setdefault(self._key(key, same, equal, options), [])
        for result in found:
            if accept is None or accept(result):
                return result
        result = compute()
        found.append(result)
        if isinstance(result, np.ndarray):
            result.setflags(write=False)  # shared: a write would change the others' input
            self._arrays[id(result)] = result
        return result

    def held(self, key, *, same, equal=(), options=()):
        """See :func:`held`."""
        if not all(self.knows(a) for a in same):
            return None
        found = self._results.get(self._key(key, same, equal, options), [])
        return found[0] if found else None


class GivenFits(FoldCache):
    """A cache holding fits made elsewhere, by the labels and weights they were
    made on: the folds of a cross-fit, every fold fitted in the same passes
    (:func:`~skcal.solvers._fold_temperatures.cross_fitted_inverse_temperatures`),
    for the calibrators fitted on them after. A fit asked for on other labels
    (of rows of positive weight) or other weights is computed as without a cache.
    ``starts`` are the first fold's fits, where the later folds' fits start
    (:func:`offer_start`).

    Examples
    --------
    >>> y, weights = np.array([0, 1]), np.array([1.0, 0.0])
    >>> cache = GivenFits(Key.INVERSE_TEMPERATURE, [((y, weights), (0.5, 1, True))])
    >>> cache.given(Key.INVERSE_TEMPERATURE, y, weights)
    (0.5, 1, True)
    >>> cache.given(Key.INVERSE_TEMPERATURE, y, None) is None
    True
    """

    def __init__(self, key, fits, *, starts=None):
        super().__init__(starts=starts)
        self.key, self.fits = key, fits

    def given(self, key, y, sample_weight):
        """The fit made on ``y`` and ``sample_weight`` for ``key``, else None."""
        if key is not self.key or sample_weight is None:
            return None
        for (fit_y, fit_weight), result in self.fits:
            # rows of weight 0 count for nothing, whatever label they were given
            if (np.array_equal(fit_weight, sample_weight)
                    and np.array_equal(fit_y[fit_weight > 0], np.asarray(y)[fit_weight > 0])):
                return result
        return None


def offer_start(cache, key, match, fit):
    """Offer ``fit`` (a fit of ``key``) as where the same fit on the comparison's
    other folds starts; ``match`` (hashable) says which problem it solves (such
    as the classes of a one-vs-rest group). Nothing happens without a cache.

    The folds of a comparison share most of their training rows, so each
    fold's optimum is close to the first fold's: an iterative fit started there
    converges in fewer passes (on 8000 x 100 logits, Platt scaling's passes
    fall from 7 to 4) to the same optimum, to its tolerance. Only Platt
    scaling and beta calibration take such starts: their optimum is the same to
    their tolerance, not bit for bit, from any start (see the exceptions above).
    Temperature scaling's fit, which vector and matrix scaling start from and
    anchor their penalties at, is kept bit for bit what it is alone (a start
    saved it about one pass of three).
    """
    if cache is not None:
        cache.offer_start(key, match, fit)


def offered_starts(cache):
    """The fits offered in ``cache`` (:func:`offer_start`), or none without a cache."""
    return {} if cache is None else cache.offered_starts()


def start_of(cache, key, match):
    """The fit of ``key`` for ``match`` that the comparison's first fold offered
    (:func:`offer_start`), or None.

    Examples
    --------
    >>> first = FoldCache()
    >>> offer_start(first, Key.PLATT_FIT, (0, 1, 2), "the first fold's fit")
    >>> other = FoldCache(starts=offered_starts(first))
    >>> start_of(other, Key.PLATT_FIT, (0, 1, 2)), start_of(first, Key.PLATT_FIT, (0, 1, 2))
    ("the first fold's fit", None)
    """
    return None if cache is None else cache.start(key, match)


class AllRows:
    """Results on all the rows of a comparison's scores that each fold takes its
    rows of: computed once (by the first fold to ask), not once per fold.

    A fold's :class:`FoldCache` knows which rows of these scores each of its
    arrays holds (its ``all_rows``); see :func:`rows_in_all`. Only results
    that a fold's own computation would give exactly belong here: values
    computed row by row (the one-vs-rest log-odds), or sorted values, which
    the fold's rows give in the same order whatever the other rows.

    Examples
    --------
    >>> scores = np.arange(6.0).reshape(3, 2)
    >>> train, test = scores[[0, 2]], scores[[1]]
    >>> cache = FoldCache(train, test, all_rows=(AllRows(scores), [0, 2], [1]))
    >>> shared, rows = rows_in_all(cache, train)
    >>> shared.result(Key.ONE_VS_REST_SCORES, (), lambda: scores * 10)[rows].tolist()
    [[0.0, 10.0], [40.0, 50.0]]
    >>> rows_in_all(cache, scores) is None  # not one of the fold's arrays
    True
    """

    def __init__(self, scores):
        self.scores = scores
        self._results = {}

    def result(self, key, options, compute):
        """``compute()`` on all the rows, once for ``key`` and ``options``."""
        if (key, options) not in self._results:
            result = compute()
            for array in result if isinstance(result, tuple) else (result,):
                array.setflags(write=False)  # shared by every fold
            self._results[(key, options)] = result
        return self._results[(key, options)]


def rows_in_all(cache, array):
    """``(AllRows, rows)`` when ``array`` is one of a fold's arrays, the rows
    ``rows`` of scores whose comparison shares results on all of them; else
    None (no cache, another array, or rows listed twice)."""
    return None if cache is None else cache.rows_in_all(array)


def _distinct(rows):
    rows = np.asarray(rows)
    return rows.ndim == 1 and np.unique(rows).shape[0] == rows.shape[0]


def _value_key(vector):
    if vector is None:
        return None
    vector = np.asarray(vector)
    return vector.dtype.str, vector.shape, vector.tobytes()


def knows(cache, array):
    """Whether ``cache`` (a :class:`FoldCache` or None) holds ``array``."""
    return cache is not None and cache.knows(array)


def reused(cache, key, compute, *, same, equal=(), options=(), accept=None):
    """``compute()``, or its result for the same inputs kept in ``cache``.

    Parameters
    ----------
    cache : FoldCache or None
        None computes.
    key : Key
        What is computed.
    compute : callable
        Computes it, without arguments.
    same : tuple of ndarray
        Input arrays, recognised by identity; the result is shared only when
        they are the cache's arrays (an array result then becomes one too).
    equal : tuple of ndarray or None, default=()
        Input vectors (labels, weights), recognised by value.
    options : tuple, default=()
        Other inputs, hashable.
    accept : callable, default=None
        ``accept(result) -> bool``: whether a result computed for these inputs
        (and others that the key leaves out) is the one ``compute`` would give;
        None accepts the first.
    """
    if cache is None:
        return compute()
    return cache.reused(key, compute, same=same, equal=equal, options=options, accept=accept)


def held(cache, key, *, same, equal=(), options=()):
    """What ``cache`` computed for these inputs, or None (nothing is computed).

    For a warm start: a result that another candidate computed and that would
    cost more to compute than it saves.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.ones(3)
    >>> cache = FoldCache(scores)
    >>> before = held(cache, Key.LOGITS, same=(scores,))
    >>> _ = reused(cache, Key.LOGITS, scores.sum, same=(scores,))
    >>> before, float(held(cache, Key.LOGITS, same=(scores,)))
    (None, 3.0)
    """
    if cache is None:
        return None
    return cache.held(key, same=same, equal=equal, options=options)


def plain_array(rows):
    """The numpy array behind :class:`~skcal.rows._blocks.Rows` that hand it out as it
    is (in memory, no per-block preparation, in its own compute dtype), else None."""
    data = rows.data
    if (rows.prepare is None and rows.xp is None and not rows.is_dask
            and type(data) is np.ndarray and data.dtype == rows.dtype):
        return data
    return None

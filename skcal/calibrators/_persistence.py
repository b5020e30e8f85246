"""Fitted calibrators saved as versioned JSON, and read back, without pickle.

A file holds what predicting needs and nothing that runs code: the class name
(one of the registry's), its parameters, the classes, how the scores are read,
their width, and the fitted map's arrays, with the skcal version that wrote it.
Numbers are written by Python's ``repr``, which reads back to the same float,
so a loaded calibrator predicts exactly as the saved one did.
"""

import json

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..rows._namespaces import to_numpy
from ..utils._files import write_atomically
from ..utils._saved import refused_as
from ..utils._version import __version__

FORMAT = "skcal-calibrator"
# version 2 adds the probability an exact zero is read as (``probability_floor_``);
# a file of a calibrator without one is written as version 1, which every skcal reads
FORMAT_VERSION = 2
READ_VERSIONS = (1, 2)


def save_calibrator(calibrator, path):
    """Save a fitted calibrator (fitted on scores) as JSON, replacing ``path`` atomically.

    Parameters
    ----------
    calibrator : fitted skcal calibrator
        Fitted without a classifier (``estimator=None``): a wrapped classifier
        is not JSON and is not saved. One fitted on device arrays (PyTorch,
        CuPy, ...) is saved from the host; :func:`load_calibrator` gives it back
        on numpy, and :func:`move_calibrator_to` moves it to a device.

    path : str or path-like
        The file to write.

    Raises
    ------
    ValueError
        For a calibrator that wraps a classifier, or one that is not fitted.

    See Also
    --------
    load_calibrator : Read it back.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skcal import TemperatureScaling, load_calibrator, save_calibrator
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(scale=3.0, size=(500, 3))
    >>> y = (logits / 3 + rng.gumbel(size=(500, 3))).argmax(axis=1)
    >>> ts = TemperatureScaling().fit(logits, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "calibrator.json")
    >>> save_calibrator(ts, path)
    >>> loaded = load_calibrator(path)
    >>> bool(np.array_equal(loaded.predict_proba(logits), ts.predict_proba(logits)))
    True
    """
    check_is_fitted(calibrator)
    content = calibrator_to_dict(calibrator)

    def write(temporary):
        with open(temporary, "w") as out:
            json.dump(content, out, indent=1)

    write_atomically(path, write)


def load_calibrator(path, *, expected_class=None):
    """Read a calibrator saved by :func:`save_calibrator`.

    Parameters
    ----------
    path : str or path-like
        The JSON file.

    expected_class : type or str, default=None
        Refuse a file that holds another class of calibrator.

    Returns
    -------
    calibrator : fitted skcal calibrator

    Raises
    ------
    ValueError
        For a file that is not a saved calibrator, of a format version this
        skcal does not read, of an unknown class, or of another class than
        ``expected_class``; for a part missing; and for parameters or map
        values that no fit makes (NaN, a temperature not above 0,
        probabilities outside [0, 1], thresholds out of order), naming them.

    See Also
    --------
    save_calibrator : Write one.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skcal import PlattScaling, load_calibrator, save_calibrator
    >>> rng = np.random.default_rng(1)
    >>> scores = rng.normal(scale=4.0, size=400)
    >>> y = (scores / 2 + rng.logistic(size=400) > 0).astype(int)
    >>> path = os.path.join(tempfile.mkdtemp(), "platt.json")
    >>> save_calibrator(PlattScaling().fit(scores, y), path)
    >>> loaded = load_calibrator(path, expected_class="PlattScaling")
    >>> round(float(loaded.coef_[0]), 2) > 0
    True
    """
    try:
        with open(path, encoding="utf-8") as source:
            content = json.load(source)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a saved calibrator: not JSON ({exc}).") from exc
    except UnicodeDecodeError as exc:  # a binary file (a .npy of scores, say)
        raise ValueError(f"{path} is not a saved calibrator: a binary file, not JSON "
                         "text.") from exc
    return calibrator_from_dict(content, expected_class=expected_class, source=str(path))


def calibrator_to_dict(calibrator):
    """The JSON-safe content of :func:`save_calibrator`."""
    if getattr(calibrator, "estimator", None) is not None:
        raise ValueError(
            f"This {type(calibrator).__name__} wraps a classifier "
            f"({type(calibrator.estimator).__name__}), which save_calibrator does not save: "
            "a classifier is not JSON. Save the classifier with its own tools, and save a "
            "calibrator fitted on its scores (estimator=None) instead."
        )
    params = calibrator.get_params(deep=False)
    params.pop("estimator", None)
    floor = getattr(calibrator, "probability_floor_", None)
    return {
        "format": FORMAT,
        "format_version": 1 if floor is None else FORMAT_VERSION,
        "skcal_version": __version__,
        "class": type(calibrator).__name__,
        "params": params,
        "classes": _encode(np.asarray(to_numpy(calibrator.classes_))),
        "score_type": calibrator.score_type_,
        "n_features_in": int(calibrator.n_features_in_),
        **({"feature_names_in": [str(name) for name in calibrator.feature_names_in_]}
           if hasattr(calibrator, "feature_names_in_") else {}),
        "map": {name: _encode(to_numpy(getattr(calibrator, name)))  # device arrays too
                for name in calibrator._map_attributes},
        **({} if floor is None else {"probability_floor": float(floor)}),
    }


def calibrator_from_dict(content, *, expected_class=None, source="the content"):
    """A fitted calibrator from :func:`calibrator_to_dict`'s content."""
    from ._registry import CALIBRATORS  # the registry imports every map, and so this

    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ValueError(f"{source} is not a saved calibrator (no '{FORMAT}' format mark).")
    if content.get("format_version") not in READ_VERSIONS:
        raise ValueError(
            f"{source} has calibrator format version {content.get('format_version')!r} "
            f"(written by skcal {content.get('skcal_version')}); this skcal "
            f"({__version__}) reads versions {', '.join(map(str, READ_VERSIONS))}. Refit "
            "and save it with this version."
        )
    classes = {entry.cls.__name__: entry.cls for entry in CALIBRATORS}
    name = content.get("class")
    if name not in classes:
        raise ValueError(f"{source} holds a {name!r}, which is not a skcal calibrator; "
                         f"known: {', '.join(classes)}.")
    if expected_class is not None:
        wanted = expected_class if isinstance(expected_class, str) else expected_class.__name__
        if name != wanted:
            raise ValueError(f"{source} holds a {name}, not a {wanted}.")
    with refused_as(f"saved {name} ({source})"):
        calibrator = classes[name](**content["params"])
        calibrator.classes_ = _decode(content["classes"])
        calibrator.score_type_ = content["score_type"]
        calibrator.n_features_in_ = content["n_features_in"]
        calibrator.probability_floor_ = content.get("probability_floor")
        calibrator._validate_params()  # an edited parameter is refused by name
        for attribute in calibrator._map_attributes:
            setattr(calibrator, attribute, _decode(content["map"][attribute]))
        _check_map_values(calibrator)
        _check_predicts(calibrator)
        if "feature_names_in" in content:  # after the probe, which passes an array
            calibrator.feature_names_in_ = np.asarray(content["feature_names_in"],
                                                      dtype=object)
    return calibrator


# map attributes that hold probabilities, and those in ascending order per class
_PROBABILITIES = ("y_thresholds_", "bin_proba_")
_ASCENDING = ("X_thresholds_", "bin_edges_")


def _check_map_values(calibrator):
    """Refuse map values that no fit makes (an edited or damaged file would map
    scores to other probabilities without a word): NaN, a temperature not above
    0, probabilities outside [0, 1], thresholds or bin edges out of order."""
    for attribute in calibrator._map_attributes:
        rows = _rows_of(getattr(calibrator, attribute))
        if any(np.isnan(row).any() for row in rows):
            raise ValueError(f"its {attribute} holds NaN")
        if attribute == "temperature_" and not rows[0].item() > 0:
            raise ValueError(f"its temperature_ is {rows[0].item()!r}; a fit makes it above 0")
        if attribute in _PROBABILITIES and any(((row < 0) | (row > 1)).any() for row in rows):
            raise ValueError(f"its {attribute} holds values outside [0, 1]")
        if attribute in _ASCENDING and any((np.diff(row) < 0).any() for row in rows):
            raise ValueError(f"its {attribute} are not in ascending order")


def _rows_of(value):
    """A map attribute as a list of float arrays: one per class, or the value."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":
        return [np.asarray(item, dtype=np.float64) for item in value]
    value = np.asarray(value, dtype=np.float64)
    return list(value) if value.ndim > 1 else [value]


def _check_predicts(calibrator):
    """Refuse a loaded map whose parts do not fit together: it must turn two rows
    of neutral scores into two rows of probabilities, one per class."""
    width = calibrator.n_features_in_
    neutral = 1.0 / max(width, 2) if calibrator.score_type_ == "probabilities" else 0.0
    probe = np.full((2, width) if width > 1 else 2, neutral)
    proba = calibrator.predict_proba(probe)
    if proba.shape != (2, len(calibrator.classes_)) or not np.isfinite(proba).all():
        raise ValueError(f"its map gives {proba.shape[1]} probabilities a row for "
                         f"{len(calibrator.classes_)} classes")


def _encode(value):
    """Arrays (and lists of arrays of different lengths) as JSON with their dtypes."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "O" and value.ndim == 1 and all(
            isinstance(item, np.ndarray) for item in value):  # arrays of different lengths
        return {"arrays": [_encode(item) for item in value]}
    if isinstance(value, np.ndarray):
        plain = value.dtype.kind == "O" and all(
            isinstance(item, (str, int, float, bool)) for item in value.ravel().tolist())
        if value.dtype.kind not in "biufU" and not plain:
            raise ValueError(f"cannot save an array of dtype {value.dtype} as JSON.")
        return {"array": value.tolist(), "dtype": "object" if plain else value.dtype.str,
                "shape": list(value.shape)}
    if isinstance(value, (list, tuple)):
        return {"list": [_encode(v) for v in value]}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(value):
    if isinstance(value, dict) and "array" in value:
        return np.asarray(value["array"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    if isinstance(value, dict) and "arrays" in value:
        arrays = np.empty(len(value["arrays"]), dtype=object)
        arrays[:] = [_decode(item) for item in value["arrays"]]
        return arrays
    if isinstance(value, dict) and "list" in value:
        return [_decode(v) for v in value["list"]]
    return value

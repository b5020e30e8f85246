"""Where an array lives: numpy, a file, Dask, or another array library's device.

Under scikit-learn's ``array_api_dispatch`` (``sklearn.config_context(
array_api_dispatch=True)``), score arrays of another array library (a PyTorch
tensor, a CuPy array, an ``array_api_strict`` array: any array of the Python
array API standard) are computed on with their own library, on their own
device, through the ``array_api_compat`` wrapper that scikit-learn ships. Only
small results come back to the host. Without dispatch nothing here is used:
numpy stays the default and the only array library skcal needs.

Dask and Zarr are recognised without being imported: an array is one of theirs
only when its library is already loaded.
"""

import sys

import numpy as np
from sklearn import get_config


def _loaded_type(module_name, attribute):
    module = sys.modules.get(module_name)
    return getattr(module, attribute, None) if module is not None else None


def is_dask(data):
    """True for a Dask array (without importing Dask)."""
    array_type = _loaded_type("dask.array", "Array")
    return array_type is not None and isinstance(data, array_type)


def is_zarr(data):
    """True for a Zarr array (without importing Zarr)."""
    array_type = _loaded_type("zarr", "Array")
    return array_type is not None and isinstance(data, array_type)


def _compat():
    from sklearn.externals import array_api_compat

    return array_api_compat


def device_namespace(data):
    """The array API namespace to compute ``data`` with, or None for the numpy path.

    Not None only when scikit-learn's ``array_api_dispatch`` is on and ``data``
    is an array of another library than numpy (Dask arrays keep their own
    path).

    Examples
    --------
    >>> import numpy as np
    >>> from skcal.rows._namespaces import device_namespace
    >>> device_namespace(np.zeros(3)) is None
    True
    """
    if not get_config()["array_api_dispatch"] or not is_device_array(data):
        return None
    xp = namespace(data)
    return None if _compat().is_numpy_namespace(xp) else xp


def namespace(data):
    """The array API namespace of an array that is not a numpy array."""
    return _compat().array_namespace(data)


def is_device_array(data):
    """True for an array that is neither numpy's nor a number: a block of device scores."""
    if data is None or isinstance(data, (np.ndarray, np.generic, int, float)):
        return False
    return not is_dask(data) and not is_zarr(data) and _compat().is_array_api_obj(data)


def device_of(data):
    """The device ``data`` lives on."""
    return _compat().device(data)


def to_numpy(data):
    """A device array (or a tuple of them, or a number) as numpy, on the host."""
    if isinstance(data, tuple):
        return tuple(to_numpy(part) for part in data)
    if not is_device_array(data):
        return data
    compat = _compat()
    if compat.is_torch_array(data):
        return data.detach().cpu().numpy()
    if compat.is_cupy_array(data):  # pragma: no cover - needs a GPU
        return data.get()
    xp = compat.array_namespace(data)
    if xp.__name__ == "array_api_strict":
        return np.asarray(xp.asarray(data, device=xp.Device("CPU_DEVICE")))
    return np.asarray(data)


def to_host(partial):
    """A reduction's result on the host: device arrays become numpy float64 arrays,
    0-d ones Python floats."""
    if isinstance(partial, tuple):
        return tuple(to_host(part) for part in partial)
    if not is_device_array(partial):
        return partial
    values = np.asarray(to_numpy(partial), dtype=np.float64)
    return float(values) if values.ndim == 0 else values


_FLOAT64_SUPPORT = {}


def sum_dtype(xp, device):
    """float64 where the device has it (sums accumulate in it), else float32."""
    key = (xp.__name__, str(device))
    if key not in _FLOAT64_SUPPORT:
        try:
            xp.zeros(1, dtype=xp.float64, device=device)
            _FLOAT64_SUPPORT[key] = True
        except Exception:  # MPS and some accelerators have no float64
            _FLOAT64_SUPPORT[key] = False
    return xp.float64 if _FLOAT64_SUPPORT[key] else xp.float32


def as_namespace(values, xp, device, dtype=None):
    """Host values (numpy) as an array of namespace ``xp`` on ``device``; floats in
    float64 where the device has it."""
    values = np.asarray(values)
    if xp is np or getattr(xp, "__name__", "").endswith("numpy"):
        return values
    if dtype is None and values.dtype.kind == "f":
        dtype = sum_dtype(xp, device)
    return xp.asarray(values, dtype=dtype, device=device)


def like(values, reference, dtype=None):
    """Host values (numpy) as an array of ``reference``'s namespace and device."""
    return as_namespace(values, namespace(reference), device_of(reference), dtype)


def _where(data):
    xp = device_namespace(data)
    if xp is None:
        return "numpy"
    return f"{xp.__name__.removeprefix('sklearn.externals.array_api_compat.')} on {device_of(data)}"


def check_same_namespace(X, calibrator, method):
    """Refuse, under array API dispatch, scores of another library or device than
    the calibrator was fitted on (scikit-learn's rule), naming the way out."""
    if not get_config()["array_api_dispatch"] or not hasattr(calibrator, "classes_"):
        return
    fitted = calibrator.classes_
    fitted_xp, x_xp = device_namespace(fitted), device_namespace(X)
    if fitted_xp is None and x_xp is None:
        return
    if (fitted_xp is not None and x_xp is not None and fitted_xp.__name__ == x_xp.__name__
            and device_of(fitted) == device_of(X)):
        return
    raise ValueError(
        f"Inputs passed to {type(calibrator).__name__}.{method}() must use the same "
        "namespace and the same device as those passed to fit(): it was fitted on "
        f"{_where(fitted)} arrays and got {_where(X)}. Move the calibrator first: "
        "skcal.move_calibrator_to(calibrator, xp, device)."
    )


def move_calibrator_to(calibrator, xp, device=None):
    """A copy of a fitted calibrator whose array attributes live in namespace ``xp``
    on ``device``.

    A calibrator fitted under ``array_api_dispatch`` keeps its fitted arrays
    (``classes_``, ``coef_``, ...) beside the scores it was fitted on, on
    their device; this moves them, for example to numpy before pickling, or to
    the device the next scores are on. Scalars (``temperature_``) are left as
    they are.

    Parameters
    ----------
    calibrator : fitted calibrator
        A skcal calibrator. Those whose map runs on the host only (matrix
        scaling, beta calibration, isotonic regression, histogram binning)
        move to numpy only.

    xp : module
        The array namespace to move to: ``numpy``, ``torch``, ``cupy``,
        ``array_api_strict``, ...

    device : device, default=None
        The device in that namespace (``"cuda"``, ``"cpu"``, ...); None for
        its default.

    Returns
    -------
    calibrator : fitted calibrator
        A copy; the original is unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from skcal import VectorScaling, move_calibrator_to
    >>> scores = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.2, 0.1]])
    >>> vs = VectorScaling().fit(scores, [0, 1, 1, 0])
    >>> type(move_calibrator_to(vs, np).coef_).__name__
    'ndarray'
    """
    import copy

    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(calibrator)
    if not callable(getattr(xp, "asarray", None)):
        raise TypeError(f"xp must be an array namespace, a module such as numpy, torch or "
                        f"array_api_strict; got {xp!r}.")
    onto_numpy = xp is np or getattr(xp, "__name__", "").endswith("numpy")
    if onto_numpy and device not in (None, "cpu"):
        raise ValueError(f"numpy arrays live on the CPU; device={device!r} needs the "
                         "namespace of that device (torch, cupy, ...).")
    if not onto_numpy and not getattr(calibrator, "_array_api", False):
        raise ValueError(f"{type(calibrator).__name__} takes numpy arrays only (its map is "
                         "applied on the host), so it moves to numpy only.")
    moved = copy.deepcopy(calibrator)
    for name, value in vars(calibrator).items():
        if not name.endswith("_") or not (isinstance(value, np.ndarray) or is_device_array(value)):
            continue
        setattr(moved, name, as_namespace(to_numpy(value), xp, device))
    return moved

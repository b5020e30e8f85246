"""Paths the command line writes to, checked when the arguments are read."""

import argparse
from pathlib import Path

from ..utils._files import check_file_path


def output_path(value):
    """An argparse ``type`` for an output file: its folder must exist, and it
    must not be a folder, so that a run is refused at once rather than after its
    work.

    Examples
    --------
    >>> output_path("results.json")
    'results.json'
    """
    try:
        check_file_path(value)
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


# what matplotlib's Agg backend writes, by suffix
IMAGE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


def image_format(path):
    """The image format of an output path: its suffix, PNG without one.

    Examples
    --------
    >>> image_format("drift.SVG"), image_format("drift")
    ('svg', 'png')
    """
    return Path(path).suffix.lstrip(".").lower() or "png"


def image_path(value):
    """An argparse ``type`` for an image to write: :func:`output_path`, and a
    suffix that names a format matplotlib writes ('' is kept: no image).

    Examples
    --------
    >>> image_path("diagram.pdf")
    'diagram.pdf'
    >>> image_path("diagram.txt")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: diagram.txt: an image is written as one of png, pdf, svg, svgz, eps, ps, jpg, jpeg, tif, tiff, webp, by its suffix; got '.txt'.
    """
    if value and image_format(value) not in IMAGE_FORMATS:
        raise argparse.ArgumentTypeError(
            f"{value}: an image is written as one of {', '.join(IMAGE_FORMATS)}, by its "
            f"suffix; got {Path(value).suffix!r}.")
    return output_path(value)


def path_ending_in(suffix, why):
    """An argparse ``type`` for an output file whose name must end in ``suffix``
    (``why`` says what reads it so): :func:`output_path`, and the suffix.

    Examples
    --------
    >>> npy_path("calibrated.npy")
    'calibrated.npy'
    >>> prometheus_textfile_path("skcal.txt")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: skcal.txt: node_exporter's textfile collector reads only files ending in .prom; give a name ending in .prom.
    """
    def checked(value):
        if Path(value).suffix != suffix:
            raise argparse.ArgumentTypeError(
                f"{value}: {why}; give a name ending in {suffix}.")
        return output_path(value)

    return checked


npy_path = path_ending_in(
    ".npy", "the (log-)probabilities are written as a .npy file (numpy's format)")
prometheus_textfile_path = path_ending_in(
    ".prom", "node_exporter's textfile collector reads only files ending in .prom")


# the options of the commands that name a file skcal writes
_OUTPUT_OPTIONS = ("state", "json", "calibrator", "report", "plot", "prometheus_textfile",
                   "write_proba", "write_log_proba")


def check_distinct_outputs(args):
    """Refuse two options that name one file, and an output that names a file
    the run reads: the later write would replace the earlier (a report written
    over by the state), or the input (a score file by its probabilities).

    Examples
    --------
    >>> check_distinct_outputs(argparse.Namespace(state="s.json", report="s.json"))
    Traceback (most recent call last):
    ...
    ValueError: --state and --report name the same file (s.json); give each output a file of its own.
    """
    seen = {}
    for option in _OUTPUT_OPTIONS:
        value = getattr(args, option, None)
        if not value:
            continue
        key = Path(value).resolve()
        if key in seen:
            raise ValueError(
                f"--{seen[key].replace('_', '-')} and --{option.replace('_', '-')} name the "
                f"same file ({value}); give each output a file of its own.")
        seen[key] = option
    for name, path in _input_files(args):
        option = seen.get(Path(path).resolve())
        if option is not None:
            raise ValueError(
                f"--{option.replace('_', '-')} names {path}, which this run reads "
                f"({name.replace('_', '-')}); give the output a file of its own.")


def _input_files(args):
    """(argument, path) of every existing file the arguments name otherwise than
    as an output: ``FILE``, ``NAME=FILE`` (a model) or ``FILE:COLUMNS``."""
    for name, value in vars(args).items():
        if name in _OUTPUT_OPTIONS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str) or not item:
                continue
            for path in {item, item.split("=", 1)[-1], item.rsplit(":", 1)[0]}:
                if Path(path).is_file():
                    yield name, path

"""Read pickled data files without running code: only plain data and numpy arrays are rebuilt.

A pickle can name any importable callable and have it called while loading (``os.system``,
``shutil.copyfile``...), so ``pickle.loads`` on a file someone else wrote runs their code. The
data sets that come as pickles (the CIFAR python archives, Keras' ``imdb.npz`` whose ragged
reviews are numpy object arrays) hold only dicts, lists, numbers, bytes, text and numpy arrays:
:class:`DataUnpickler` rebuilds those and refuses a file that names anything else.

Example:
    >>> import pickle, numpy as np
    >>> loads(pickle.dumps({b"data": np.arange(3, dtype=np.uint8)}, protocol=2), encoding="bytes")
    {b'data': array([0, 1, 2], dtype=uint8)}
    >>> loads(pickle.dumps(print))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UnpicklingError: it holds a pickled builtins.print; only ...
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

try:  # numpy >= 2 moved these to numpy._core; pickles written by numpy 1 still name numpy.core
    from numpy._core import multiarray, numeric
except ImportError:  # pragma: no cover (numpy 1)
    from numpy.core import multiarray, numeric


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 pickles bytes at protocol 2, for latin-1 only (no other codec is looked up)."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"it encodes bytes as {encoding!r}, not latin1")
    return text.encode("latin-1")


# What numpy's own pickles of arrays, dtypes and scalars reference (protocols 2-5, numpy 1 and 2)
ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(m, "_reconstruct"): multiarray._reconstruct for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): multiarray.scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "_frombuffer"): numeric._frombuffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("_codecs", "encode"): _latin1,
}
PLAIN_DATA = "only numpy arrays, dicts, lists, numbers, bytes and text are read from data files"


class DataUnpickler(pickle.Unpickler):
    """An unpickler that resolves no global but those of :data:`ALLOWED` (and has no persistent ids)."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"it holds a pickled {module}.{name}; {PLAIN_DATA}") from None


def loads(raw: bytes, encoding: str = "ASCII") -> Any:
    """Unpickle ``raw`` with :class:`DataUnpickler`; any failure is an ``UnpicklingError`` saying why."""
    try:
        return DataUnpickler(io.BytesIO(raw), encoding=encoding).load()
    except pickle.UnpicklingError:
        raise
    except Exception as err:  # a hostile or damaged pickle can make the allowed callables raise anything
        raise pickle.UnpicklingError(f"not a pickle of plain data ({type(err).__name__}: {err})") from None


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file; object arrays (which numpy stores pickled) through :func:`loads`, where
    ``np.load(path, allow_pickle=True)`` would run whatever their pickle names."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                with archive.open(member) as f:
                    arrays[member.removesuffix(".npy")] = _read_npy(f, member)
    return arrays


def _read_npy(f: Any, member: str) -> np.ndarray:
    fmt = np.lib.format
    version = fmt.read_magic(f)
    header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
    if header is not None:
        shape, _, dtype = header(f)
        if dtype.hasobject:
            try:
                array = loads(f.read(), encoding="latin1")  # numpy's own choice for arrays written by Python 2
            except pickle.UnpicklingError as err:
                raise pickle.UnpicklingError(f"{member}: {err}") from None
            if not isinstance(array, np.ndarray) or array.shape != shape:
                raise ValueError(f"{member}: not the array of shape {shape} its header announces")
            return array
    f.seek(0)
    return fmt.read_array(f, allow_pickle=False)

"""Keep the libraries' start-up chatter off the terminal: dltool's own lines only, unless ``--debug``.

TensorFlow's C++ core writes absl/glog lines (``I0000 00:00:... port.cc:153] oneDNN custom operations
are on``, ``cpu_feature_guard``, ``Local rendezvous is aborting``) straight to file descriptor 2, before
and regardless of ``TF_CPP_MIN_LOG_LEVEL``. So descriptor 2 becomes a pipe whose reader thread drops
lines of that shape and passes every other line on, while Python's ``sys.stderr`` keeps writing to
the real stream directly (dltool's errors and warnings never wait on the thread).

Example:
    >>> is_library_line("I0000 00:00:1796268239.743870   12789 port.cc:153] oneDNN custom operations are on.")
    True
    >>> is_library_line("error: model=resnt: no such model option (did you mean resnet?)")
    False
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading
import warnings

# glog's prefix (severity but fatal, date or zeros, time, thread, file:line]), absl's pre-init notice,
# TensorFlow's instruction-set advice and TensorFlow Lite's delegate notice
_LIBRARY_LINE = re.compile(
    r"^([IWE]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\]|WARNING: All log messages before absl::InitializeLog"
    r"|To enable the following instructions: |INFO: Created TensorFlow Lite)"
)


def is_library_line(line: str) -> bool:
    """A line written by TensorFlow's C++ logging rather than by dltool or Python."""
    return bool(_LIBRARY_LINE.match(line))


def quiet_libraries() -> None:
    """Silence the libraries' logging and warnings in this process and in the processes it starts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    warnings.filterwarnings("ignore", module=r"^(?!dltool)")  # others' deprecation notices are not the user's
    for name in ("tensorflow", "absl", "keras", "jax", "h5py", "matplotlib", "PIL"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _filter_descriptor_2()


def _filter_descriptor_2() -> None:
    try:
        real = os.dup(2)
        read_end, write_end = os.pipe()
    except OSError:  # no descriptor 2 to filter (e.g. closed): nothing would reach a terminal anyway
        return
    sys.stderr.flush()
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding=sys.stderr.encoding, errors="backslashreplace")
    os.dup2(write_end, 2)
    os.close(write_end)
    reader = threading.Thread(target=_pass_on, args=(read_end, real), daemon=True, name="dltool-stderr-filter")
    reader.start()

    def restore() -> None:  # at exit: the last lines of the libraries get through before the process ends
        os.dup2(real, 2)
        reader.join(timeout=2)

    atexit.register(restore)


def _pass_on(read_end: int, real: int) -> None:
    """Copy lines from the pipe to the real stderr, without the libraries' own; a line indented under a
    dropped one (``\\t [[{{node decode_image/DecodeImage}}]]``) goes with it."""
    dropping = False
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                text = raw.decode(errors="replace")
                dropping = is_library_line(text) or (dropping and text[:1] in ("\t", " ") and text.strip() != "")
                if not dropping:
                    os.write(real, raw + b"\n")
        if pending and not is_library_line(pending.decode(errors="replace")):
            os.write(real, pending)

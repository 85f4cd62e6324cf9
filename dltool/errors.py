"""Errors the CLI turns into one line and an exit code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DltoolError(Exception):
    """An error with a one-line message meant for the user."""

    exit_code = 1


class ConfigError(DltoolError):
    """Bad usage or bad config: unknown key or choice, wrong type, missing file (exit 2)."""

    exit_code = 2


class JobFailed(DltoolError):
    """The job ran and failed, e.g. a non-finite loss (exit 1)."""


class Interrupted(DltoolError):
    """The user pressed Ctrl-C; what can be resumed was saved (exit 130, as shells report SIGINT)."""

    exit_code = 130


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest candidate, or an empty string.

    >>> did_you_mean("resnt", ["mlp", "resnet"])
    ' (did you mean resnet?)'
    """
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]}?)" if matches else ""


def first_line(err: BaseException) -> str:
    """The first non-blank line of an exception's message (libraries' errors span several), else its type.

    >>> first_line(ValueError("\\n  bad value\\nmore detail"))
    'bad value'
    >>> first_line(KeyError())
    'KeyError'
    """
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)

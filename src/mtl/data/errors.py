"""The one error every reader raises for a malformed data file: it names the file and the 1-based line."""

from __future__ import annotations

import os


class DataError(ValueError):
    """A malformed data file; the message is ``"<path>:<line>: <problem>"``.

    ``line`` is 1-based, or None for a problem with the whole file (then the message is
    ``"<path>: <problem>"``, e.g. ``"<path>: file is empty"``).
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # the default would call __init__ with the message alone and fail
        return (type(self), (self.path, self.line, self.problem))

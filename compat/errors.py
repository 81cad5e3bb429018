"""The failures the tool reports as exit 2: each message is ready to print, one line."""

from __future__ import annotations


class CompatError(Exception):
    """The tool could not do its job for a reason it can name (bad config, index, GitHub …)."""


class IndexFailure(CompatError):
    """The index could not answer (and no cache could stand in); message ready to print."""


class Interrupted(Exception):  # noqa: N818 - it is a signal, not an error
    """A signal (SIGINT, SIGTERM) stopped the run; finished work was kept."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

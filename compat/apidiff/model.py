"""The values an API diff produces: one ``Breakage`` per change, one ``Diff`` per comparison."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from compat.errors import CompatError

RANKS = ("certain", "possible")


class ApiDiffError(CompatError):
    """The diff could not be made (unknown version, broken archive); message ready to print."""


@dataclass
class Breakage:
    """One breaking change; ``used_at`` holds the ``file:line`` of each use it touches."""

    rank: str  # "certain" | "possible"
    kind: str  # e.g. "object-removed", "parameter-removed", "parameter-added-required"
    object_path: str  # the upstream object, as your code names it (full mode: griffe's path)
    message: str
    used_at: list[str] = field(default_factory=list)
    hidden: str = ""  # full mode: why it is not shown ("private", "experimental", …)

    def to_dict(self) -> dict:
        data = asdict(self)
        if not self.hidden:
            del data["hidden"]
        return data


def ordered(found: list[Breakage]) -> list[Breakage]:
    """Certain first, then by object, kind and message: a stable order for output and tests."""
    return sorted(found, key=lambda b: (RANKS.index(b.rank), b.object_path, b.kind, b.message))


@dataclass
class Diff:
    """The breakages between two releases of ``package``.

    Targeted mode checks the ``uses`` found in ``files``; full mode lists every change of the
    public API, with those no user touches (private modules, experimental parts, …) in
    ``hidden`` instead of ``breakages``.
    """

    package: str
    old: str
    new: str
    mode: str  # "targeted" | "full"
    breakages: list[Breakage] = field(default_factory=list)
    hidden: list[Breakage] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    uses_checked: int = 0
    notes: list[str] = field(default_factory=list)  # what could not be compared, and why

    @property
    def certain(self) -> list[Breakage]:
        return [b for b in self.breakages if b.rank == "certain"]

    @property
    def exit_code(self) -> int:
        """1 when something certainly breaks, else 0."""
        return 1 if self.certain else 0

    def to_dict(self) -> dict:
        data = {
            "package": self.package,
            "old": self.old,
            "new": self.new,
            "mode": self.mode,
            "breakages": [b.to_dict() for b in self.breakages],
        }
        if self.mode == "targeted":
            data["uses"] = self.files
            data["uses_checked"] = self.uses_checked
        else:
            data["hidden"] = [b.to_dict() for b in self.hidden]
        data["notes"] = self.notes
        return data

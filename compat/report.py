"""What the verdicts say, per integration, and the docs page + JSON that say it.

The committed ``docs/compatibility-matrix.json`` is an input as well as an output: the
stored results are merged into what it already held (newest per cell), so a fresh clone or
a partial run never loses verdicts. Facts (``Row``, ``Mark``, ``Support``) are computed here,
once; ``compat.markdown`` renders the page, ``to_json`` the JSON. Nothing depends on the time
of rendering: unchanged verdicts give unchanged files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from compat import markdown
from compat.bisect import Answer, load_answer
from compat.errors import CompatError
from compat.fileio import write_together
from compat.inputs import tool_version
from compat.matrix import Integration, Matrix
from compat.plan import Cell, Plan
from compat.results import Loaded, Result, ResultError, Status, load_all, read_docs_json
from compat.support import KnownIssue, Support, Upcoming

LABEL_GROUP = {"min": 0, "latest": 2, "pre": 3}  # the rest: by version, in between


class ReportError(CompatError):
    """The docs could not be written; nothing was changed."""


@dataclass(frozen=True)
class Mark:
    """Something the maintainers should act on: ``kind`` for machines, ``text`` for people."""

    kind: str  # raise-floor | no-pass | cap-lift | latest-untested
    text: str


@dataclass
class Row:
    """What the docs say about one integration."""

    integration: Integration
    cells: list[Result]  # the results of the plan's cells under the current configuration
    labels: list[str]
    history: list[Result]  # every result with the current requirements, bisect probes included
    latest_on_index: str | None = None
    first_bad: Answer | None = None
    marks: list[Mark] = field(default_factory=list)
    outdated: list[Result] = field(default_factory=list)  # plan cells run under another one

    def inside(self, result: Result) -> bool:
        """Whether the result's version is inside the declared range of the current pyproject
        (the record's own flag may come from another one)."""
        declared = self.integration.declared
        return not declared or declared.contains(result.version, result.python_xy)

    def passing(self, in_range: bool = True) -> list[Version]:
        """Passing versions (inside the declared range unless ``in_range`` is False)."""
        return sorted(
            {
                r.version
                for r in self.history
                if r.status.passing and (self.inside(r) or not in_range)
            }
        )

    def status(self) -> str:
        """The worst verdict inside the declared range ("not run" without any)."""
        counted = [r.status for r in self.cells if r.in_declared_range] or [
            r.status for r in self.cells
        ]
        return max(counted, key=lambda s: s.severity).value if counted else "not run"

    @property
    def declared(self) -> str:
        """The declared specifier(s) of the package in the current pyproject.toml, one per
        distinct Python marker outcome ("" = none)."""
        declared = self.integration.declared
        specs = (str(declared.specifier(python)) for python in self.integration.python)
        return " or ".join(dict.fromkeys(spec for spec in specs if spec))

    @property
    def declared_in(self) -> tuple[str, ...]:
        """Where the declared specifier comes from: ``pyproject.toml:12``."""
        return self.integration.declared.sources

    @property
    def pythons_ran(self) -> list[str]:
        ran = {r.python_xy for r in self.cells if r.installed}
        return sorted(ran, key=_python_key)

    @property
    def last_run(self) -> str:
        return max((r.run_date for r in self.cells), default="")


def _python_key(python: str) -> tuple[int, ...]:
    return tuple(int(p) for p in python.split(".") if p.isdigit())


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


def label_order(results: list[Result]) -> list[str]:
    """The labels of ``results``: min, then by version (series and max), latest, pre."""
    versions = {r.label: r.version for r in results}
    return sorted(versions, key=lambda label: (LABEL_GROUP.get(label, 1), versions[label]))


# -- the merged store -------------------------------------------------------------------------


def load_known(matrix: Matrix) -> Loaded:
    """The committed docs JSON merged with the results dir: newest per session wins."""
    known = read_docs_json(matrix.docs_path.with_suffix(".json"))
    if known.problems:
        raise ReportError(
            f"{known.problems[0]} — the committed verdicts cannot be read, so nothing is "
            "rendered over them; fix or remove the file"
        )
    stored = load_all(matrix.results_dir)
    for result in stored.results.values():
        known.add(result)
    known.problems += stored.problems
    for integ in matrix.integrations:
        try:
            load_answer(matrix.results_dir, integ.name)
        except ResultError as exc:
            known.problems.append(str(exc))
    return known


# -- facts -------------------------------------------------------------------------------------


def same_requirements(integ: Integration, result: Result) -> bool:
    """Whether ``result`` was made with the integration's current requirements at its version
    (the pin, ``with``, ``deps``): only then is its verdict a fact about this configuration.
    A record that does not say (no ``requirements``, written by hand) is not contradicted."""
    return not result.requirements or result.requirements == integ.requirements(result.requested)


def same_configuration(matrix: Matrix, integ: Integration, result: Result) -> bool:
    """The current declared specifier for its Python, the current requirements and the rest
    of the cell's configuration in compat.toml (``select``, ``tests``, ``test-requires``, …:
    the ``configuration`` part of its key, when it has one): only such a record is shown as
    the verdict of its cell."""
    try:
        declared = SpecifierSet(result.declared)
    except InvalidSpecifier:
        return False
    if declared != integ.declared.specifier(result.python_xy):
        return False
    recorded = result.key.get("configuration")
    if recorded and recorded != configuration(matrix, integ, result):
        return False
    return same_requirements(integ, result)


def configuration(matrix: Matrix, integ: Integration, result: Result) -> str:
    """The digest of the configuration a run of ``result``'s cell would have today."""
    from compat.inputs import key

    version = result.requested
    cell = Cell(
        integ.name, result.label, integ.package, version, result.python_xy,
        tuple(integ.requirements(version)), "", select=integ.select, tests=integ.tests,
    )  # fmt: skip
    return key(matrix, cell, [], result.python)["configuration"]


def build_rows(matrix: Matrix, results: dict[str, Result], plan: Plan | None) -> list[Row]:
    """Pair each integration with its results (those of the plan's cells when known).

    A record made under another configuration (declared range, compat.toml) is not
    shown as its cell's verdict: the cell is "not yet run under the current configuration"
    (``Row.outdated``), or ``error`` when the last run of it could not judge it (its stale
    mark). Facts (passing versions, marks) use every stored record with the current
    requirements, whatever the plan, judged against the current declared range.
    """
    rows = []
    for integ in matrix.integrations:
        mine = [r for r in results.values() if r.integration == integ.name]
        if plan is not None:
            cells = [c for c in plan.cells if c.integration == integ.name]
            stored = [
                results[c.session]
                for c in cells
                if c.session in results and results[c.session].requested == c.version
            ]
            labels = list(dict.fromkeys(c.label for c in cells))
        else:
            stored = [r for r in mine if not r.is_bisect]
            labels = label_order(stored)
        current, outdated = [], []
        for r in stored:
            if same_configuration(matrix, integ, r):
                current.append(r)
            elif r.stale is not None:
                current.append(_unjudged(integ, r))
            else:
                outdated.append(r)
        history = [r for r in mine if same_requirements(integ, r)]
        row = Row(integ, current, labels, history, outdated=outdated)
        row.latest_on_index = plan.latest(integ) if plan else None
        row.first_bad = _answer(matrix, integ, mine)
        row.marks = marks(row)
        rows.append(row)
    return rows


def _unjudged(integ: Integration, old: Result) -> Result:
    """The last run of a cell whose stored verdict came from another configuration, and which
    could not judge it: an ``error`` with that run's reason (the old verdict is not shown)."""
    assert old.stale is not None
    return replace(
        old,
        status=Status.ERROR,
        message=old.stale.message,
        hint=old.stale.hint,
        started=old.stale.at,
        stale=None,
        installed=None,
        tests={"passed": 0, "failed": 0, "skipped": 0, "errors": 0},
        failures=[],
        deprecations=[],
        notes=[],
        requirements=integ.requirements(old.requested),
        declared=str(integ.declared.specifier(old.python_xy)),
        in_declared_range=integ.declared.contains(old.version, old.python_xy),
    )


def _answer(matrix: Matrix, integ: Integration, results: list[Result]) -> Answer | None:
    """The bisect answer, unless a later run of its first-bad version passed (of its
    first-good version, for an upward search: failed)."""
    try:
        answer = load_answer(matrix.results_dir, integ.name)
    except ResultError:
        return None
    upward = answer is not None and answer.direction == "first-good"
    found = answer and (answer.first_good if upward else answer.first_bad)
    if answer is None or not answer.found or found is None:
        return None
    for r in results:
        later = r.requested == found and r.python_xy == answer.python
        contradicts = r.status.incompatible if upward else r.status.passing
        if later and contradicts and r.started > answer.found_at:
            return None
    return answer


def marks(row: Row) -> list[Mark]:
    integ = row.integration
    found: list[Mark] = []
    passing = row.passing()
    judged = [r for r in row.history if r.status.judged and row.inside(r)]
    floor = min(
        (r.version for r in row.cells if r.label == "min"), default=_version(integ.min)
    )  # the `min` cell: the declared floor, or the lowest release it admits
    failing_floor = sorted(
        (r.python_xy for r in row.cells if r.label == "min" and r.counts_against), key=_python_key
    )
    if failing_floor:
        on = set(failing_floor)
        higher = sorted(
            {
                r.version
                for r in row.history
                if r.python_xy in on and r.status.passing and row.inside(r)
                and r.version > floor
            }
        )  # fmt: skip
        where = (
            ""
            if on == {r.python_xy for r in row.cells}
            else f" on Python {', '.join(failing_floor)}"
        )
        if higher:
            found.append(
                Mark(
                    "raise-floor",
                    f"raise the minimum to {higher[0]}: the declared minimum {floor} "
                    f"({integ.min_source}) fails{where}; the lowest passing version there is "
                    f"{higher[0]}",
                )
            )
    if judged and not passing:
        found.append(
            Mark(
                "no-pass",
                f"no tested version inside the declared range passes ({floor} and up)",
            )
        )
    beyond = [r for r in row.history if not row.inside(r) and r.status.judged]
    above = [r for r in beyond if r.version > floor]
    lifted = sorted({r.version for r in above if r.status.passing})
    if lifted:
        caps = sorted({c for r in above for c in integ.declared.upper_bounds(r.python_xy)})
        failing = sorted({r.version for r in above if r.status.incompatible})
        text = (
            f"cap {', '.join(f'`{c}`' for c in caps) or 'of the declared range'} could be lifted: "
        )
        text += f"{_span(lifted)} pass{'es' if len(lifted) == 1 else ''}"
        if failing:
            text += f" ({_span(failing)} fail{'s' if len(failing) == 1 else ''})"
        found.append(Mark("cap-lift", text))
    latest = row.latest_on_index
    if latest and not any(r.requested == latest for r in row.cells):
        found.append(Mark("latest-untested", f"latest on the index, {latest}, was never tested"))
    return found


def _rank(row: Row, result: Result) -> int:
    return row.labels.index(result.label) if result.label in row.labels else len(row.labels)


def _span(versions: list[Version]) -> str:
    if len(versions) <= 2:
        return ", ".join(str(v) for v in versions)
    return f"{versions[0]}–{versions[-1]}"


def supports(
    rows: list[Row], alerts: dict[str, list[tuple[str, str]]] | None = None
) -> list[Support]:
    """The support facts of each integration, for metadata blocks and runtime notices;
    ``alerts``: open high release alerts by integration, [(version, reason)]."""
    return [support(row, (alerts or {}).get(row.integration.name, [])) for row in rows]


def support(row: Row, alerts: list[tuple[str, str]] = ()) -> Support:
    integ = row.integration
    passing = row.passing()
    judged = [r for r in row.history if r.status.judged and r.installed]
    newest = max(judged, key=lambda r: (r.version, r.started), default=None)
    issues: dict[str, list[Result]] = {}
    for r in sorted(row.history, key=lambda r: r.version):
        bad = r.status.incompatible or (r.status is Status.DEPRECATED and r.usage_deprecations)
        if bad and row.inside(r) and r.label != "pre":
            issues.setdefault(r.requested, []).append(r)
    known = tuple(
        KnownIssue(
            version,
            results[0].status.value,
            reason(results[0]),
            tuple(sorted({r.python_xy for r in results}, key=_python_key)),
        )
        for version, results in issues.items()
    )
    causes: dict[tuple[str, str], Result] = {}  # one entry per cause, not one per Python
    for r in row.cells:
        if r.label == "pre" and r.status.incompatible:
            causes.setdefault((r.requested, r.failures[0].test if r.failures else reason(r)), r)
    upcoming = [Upcoming(r.requested, reason(r), "prerelease cell") for r in causes.values()]
    tested = newest.version if newest else None
    upcoming += [
        Upcoming(version, text, "release alert")
        for version, text in alerts
        if tested is None or _version(version) > tested
    ]
    pythons = sorted({r.python_xy for r in judged}, key=_python_key)
    return Support(
        integration=integ.name,
        package=integ.package,
        declared=row.declared,
        lowest_passing=str(passing[0]) if passing else None,
        highest_passing=str(passing[-1]) if passing else None,
        last_tested=newest.requested if newest else None,
        last_tested_on=newest.run_date if newest else None,
        pythons=tuple(pythons),
        passing=tuple(str(v) for v in passing),
        known_issues=known,
        next_breaking=tuple(upcoming),
        file=integ.file,
    )


def reason(result: Result) -> str:
    """One line saying why a version fails or warns."""
    if result.failures:
        first = result.failures[0]
        return f"{first.message or 'failed'} ({first.test})"
    if result.status is Status.DEPRECATED and result.usage_deprecations:
        dep = result.usage_deprecations[0]
        return f"{dep.category}: {dep.message}"
    return result.message or result.status.value


# -- output ------------------------------------------------------------------------------------


def to_json(rows: list[Row]) -> dict:
    out = {}
    for row in rows:
        passing = row.passing()
        out[row.integration.name] = {
            "package": row.integration.package,
            "declared": row.declared,
            "declared_in": list(row.declared_in),
            "declared_min": row.integration.min,
            "min_source": row.integration.min_source,
            "lowest_passing": str(passing[0]) if passing else None,
            "highest_passing": str(passing[-1]) if passing else None,
            "latest_on_index": row.latest_on_index,
            "status": row.status(),
            "python": row.pythons_ran,
            "marks": [{"kind": m.kind, "text": m.text} for m in row.marks],
            "first_bad": row.first_bad.to_dict() if row.first_bad else None,
            "cells": [
                r.to_dict(public=True)
                for r in sorted(row.history, key=lambda r: (r.is_bisect, _rank(row, r), r.session))
            ],
        }
    return {"schema": 1, "generator": f"nox-compat {tool_version()}", "integrations": out}


def write_docs(matrix: Matrix, results: dict[str, Result], plan: Plan | None) -> list[Row]:
    """Regenerate the page's block and the JSON beside it (both or neither); the rows."""
    rows = build_rows(matrix, results, plan)
    path = matrix.docs_path
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read ({exc}); nothing was written") from None
    try:
        page = markdown.replace_block(current, markdown.render_block(rows))
    except markdown.PageError as exc:
        raise ReportError(f"{path}: {exc}; the file was left as it is") from None
    data = json.dumps(to_json(rows), indent=2, ensure_ascii=False) + "\n"
    try:
        write_together({path: page, path.with_suffix(".json"): data})
    except OSError as exc:
        raise ReportError(
            f"cannot write {path} and {path.with_suffix('.json').name} "
            f"({exc.strerror or exc}); neither was changed"
        ) from None
    return rows


def incompatible(rows: list[Row]) -> bool:
    return any(r.counts_against for row in rows for r in row.cells)

"""Following a dotted path of your code through two releases at once.

A path such as ``openai.OpenAI().chat.completions.create`` (see ``compat.uses.segments``) is
walked segment by segment in the old and the new release together, through aliases,
instances (``()``: the class a call returns) and the annotated types of attributes and
properties. When one release cannot tell what a step yields (no annotation) and the other can
(a class), that class is looked up by its path in the first: ``create_engine()`` unannotated
in the old release, ``-> Engine`` in the new, and ``Engine.execute`` is checked in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import griffe

from compat.apidiff.load import Api, canonical, lazily_exported

FOUND, MISSING, UNKNOWN = "found", "missing", "unknown"


@dataclass
class Place:
    """Where one release's walk ended.

    ``found``: ``obj`` is the object at ``index`` (None: it exists, outside what we read);
    ``missing``: segment ``index`` is not a member of ``container``; ``unknown``: lost track.
    """

    status: str
    index: int
    obj: griffe.Object | None = None
    container: griffe.Object | None = None
    borrowed: bool = False  # a type on the way was read from the other release
    lazy: bool = False  # found only as a name the module's ``__getattr__`` mentions


class _Walk:
    def __init__(self, api: Api, segs: list[str]) -> None:
        self.api, self.segs = api, segs
        top = api.top(segs[0])
        self.place = Place(FOUND, 0, top) if top is not None else Place(MISSING, 0)

    @property
    def going(self) -> bool:
        return self.place.status == FOUND and self.place.obj is not None

    def step(self, index: int) -> None:
        api, obj, seg = self.api, self.place.obj, self.segs[index]
        borrowed = self.place.borrowed
        if seg == "()":
            nxt = obj if obj.is_class else returned_class(api, obj)
            self.place = Place(FOUND if nxt else UNKNOWN, index, nxt, borrowed=borrowed)
            return
        container = obj if (obj.is_module or obj.is_class) else value_class(api, obj)
        if container is None:
            self.place = Place(UNKNOWN, index, borrowed=borrowed)
            return
        member = api.member(container, seg)
        if member is None and container.is_module and lazily_exported(container, seg):
            self.place = Place(FOUND, index, None, container, borrowed, lazy=True)
        elif member is None:
            self.place = Place(MISSING, index, None, container, borrowed)
        else:
            self.place = Place(FOUND, index, api.target(member), container, borrowed)

    def borrow(self, other: Place) -> None:
        """Take the class the other release found at this step, looked up here by its path."""
        if other.obj is None or not other.obj.is_class:
            return
        found = self.api.lookup(other.obj.path)
        if found is not None and found.is_class:
            self.place = Place(FOUND, other.index, found, self.place.container, borrowed=True)


def resolve_pair(old: Api, new: Api, segs: list[str]) -> tuple[Place, Place]:
    """Walk ``segs`` through both releases, step by step, until either stops."""
    before, after = _Walk(old, segs), _Walk(new, segs)
    for index in range(1, len(segs)):
        if not (before.going and after.going):
            break
        before.step(index)
        after.step(index)
        if before.place.status == UNKNOWN and after.going:
            before.borrow(after.place)
        elif after.place.status == UNKNOWN and before.going:
            after.borrow(before.place)
    return before.place, after.place


def returned_class(api: Api, obj: griffe.Object) -> griffe.Object | None:
    return class_of(api, obj.returns) if obj.is_function else None


def value_class(api: Api, obj: griffe.Object) -> griffe.Object | None:
    """The class of a property's or annotated attribute's value, when it is one we can read."""
    if obj.is_function and is_property(obj):
        return class_of(api, obj.returns)
    if obj.is_attribute:
        return class_of(api, obj.annotation)
    return None


def is_property(func: griffe.Object) -> bool:
    """``@property``, ``@cached_property`` and look-alikes (``@_compat.cached_property``)."""
    if "property" in func.labels:
        return True
    return any(str(d.value).rsplit(".", 1)[-1].endswith("property") for d in func.decorators)


def class_of(api: Api, annotation: object) -> griffe.Object | None:
    """The class an annotation names (``X``, ``Optional[X]``, ``X | None``), if we can read it."""
    if isinstance(annotation, griffe.ExprSubscript) and str(annotation.left) in _OPTIONAL:
        annotation = annotation.slice
    if isinstance(annotation, griffe.ExprBinOp) and annotation.operator == "|":
        sides = [s for s in (annotation.left, annotation.right) if str(s) != "None"]
        annotation = sides[0] if len(sides) == 1 else None
    path = canonical(annotation)
    if path is None or path.split(".")[0] not in api.names:
        return None
    found = api.lookup(path)
    return found if found is not None and found.is_class else None


_OPTIONAL = {"Optional", "typing.Optional", "t.Optional"}

"""Value objects with attrs."""

import attrs


@attrs.define
class Point:
    x: int
    y: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))


@attrs.frozen
class Tag:
    name: str = attrs.field(converter=str.lower)


def check_define():
    p = Point(1)
    assert attrs.asdict(p) == {"x": 1, "y": 0}
    assert attrs.evolve(p, y=2) == Point(1, 2)


def check_frozen():
    assert Tag("A").name == "a"
    assert [f.name for f in attrs.fields(Tag)] == ["name"]

"""Django utilities used by a project (no settings needed)."""

from django.utils.dateparse import parse_date
from django.utils.encoding import force_str
from django.utils.text import slugify


def check_text():
    assert slugify("Hello World") == "hello-world"
    assert force_str(b"x") == "x"


def check_datastructures():
    from django.utils.datastructures import MultiValueDict

    d = MultiValueDict({"a": ["1", "2"]})
    assert d.getlist("a") == ["1", "2"]
    assert parse_date("2024-02-29").day == 29

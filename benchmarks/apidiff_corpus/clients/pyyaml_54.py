"""Config loading written for PyYAML 5.4."""

import yaml


def check_safe_load():
    assert yaml.safe_load("a: 1") == {"a": 1}


def check_load_without_loader():
    assert yaml.load("a: [1, 2]") == {"a": [1, 2]}


def check_dump():
    assert yaml.dump({"a": 1}, default_flow_style=False) == "a: 1\n"

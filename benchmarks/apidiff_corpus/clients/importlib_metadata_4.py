"""Plugin discovery written for importlib-metadata 4."""

import importlib_metadata


def check_version():
    assert importlib_metadata.version("importlib-metadata")


def check_entry_points_dict():
    groups = importlib_metadata.entry_points()
    assert groups.get("console_scripts", []) is not None


def check_entry_points_select():
    assert importlib_metadata.entry_points(group="console_scripts") is not None

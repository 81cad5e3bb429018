"""HTML escaping helpers (a template filter module) for markupsafe 2.0."""

from markupsafe import Markup, escape


def check_escape():
    assert str(escape("<b>")) == "&lt;b&gt;"
    assert Markup("<i>%s</i>") % "<" == Markup("<i>&lt;</i>")


def check_soft_unicode():
    from markupsafe import soft_unicode

    assert soft_unicode("x") == "x"

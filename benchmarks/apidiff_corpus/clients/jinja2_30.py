"""Template rendering with custom filters, written for Jinja2 3.0."""

import jinja2


def check_render():
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    assert env.from_string("{{ name }}!").render(name="<x>") == "&lt;x&gt;!"


def check_markup_reexport():
    from jinja2 import Markup, escape

    assert escape("<") == Markup("&lt;")


def check_contextfunction():
    @jinja2.contextfunction
    def who(context):
        return context["name"]

    env = jinja2.Environment()
    env.globals["who"] = who
    assert env.from_string("{{ who() }}").render(name="ada") == "ada"


def check_loader():
    env = jinja2.Environment(loader=jinja2.DictLoader({"a.txt": "A{{ 1 + 1 }}"}))
    assert env.get_template("a.txt").render() == "A2"

"""Templates with filters, for Jinja2 3.1."""

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape
from markupsafe import Markup


def make_env() -> Environment:
    env = Environment(
        loader=DictLoader({"page.html": "<h1>{{ title | shout }}</h1>{{ body }}"}),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
    )
    env.filters["shout"] = lambda s: s.upper()
    return env


def check_render():
    html = make_env().get_template("page.html").render(title="hi", body=Markup("<p>x</p>"))
    assert html == "<h1>HI</h1><p>x</p>"


def check_sandbox():
    from jinja2.sandbox import SandboxedEnvironment

    assert SandboxedEnvironment().from_string("{{ 1 + 2 }}").render() == "3"

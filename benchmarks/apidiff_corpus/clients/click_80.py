"""A CLI written for click 8.0."""

import click
from click.testing import CliRunner


@click.command()
@click.option("--count", default=1, type=int)
@click.argument("name")
def hello(count, name):
    for _ in range(count):
        click.echo(f"hi {name}")


def check_command():
    result = CliRunner().invoke(hello, ["--count", "2", "ada"])
    assert result.output == "hi ada\nhi ada\n"


def check_terminal_size():
    width, height = click.get_terminal_size()
    assert width > 0


def check_autocompletion_param():
    @click.command()
    @click.option("--env", autocompletion=lambda ctx, args, incomplete: ["dev"])
    def deploy(env):
        pass

    assert deploy

"""A CLI with groups and options, for click 8.1."""

import click
from click.testing import CliRunner


@click.group()
@click.option("--verbose", is_flag=True)
@click.pass_context
def cli(ctx, verbose):
    ctx.obj = {"verbose": verbose}


@cli.command()
@click.argument("name")
@click.option("--shout/--no-shout", default=False)
@click.pass_obj
def greet(obj, name, shout):
    text = f"hi {name}"
    click.echo(text.upper() if shout else text)


def check_group():
    result = CliRunner().invoke(cli, ["greet", "ada", "--shout"])
    assert result.exit_code == 0 and result.output == "HI ADA\n"


def check_choice_and_path():
    @click.command()
    @click.option("--env", type=click.Choice(["dev", "prod"]))
    @click.argument("path", type=click.Path())
    def deploy(env, path):
        click.echo(f"{env}:{path}")

    assert CliRunner().invoke(deploy, ["--env", "dev", "x"]).output == "dev:x\n"

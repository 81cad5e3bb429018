"""Console output of a CLI, for rich 13."""

from rich.console import Console
from rich.table import Table
from rich.text import Text


def check_table():
    console = Console(record=True, width=40, color_system=None)
    table = Table(title="Results")
    table.add_column("name")
    table.add_column("status", justify="right")
    table.add_row("a", "ok")
    console.print(table)
    assert "Results" in console.export_text()


def check_text():
    text = Text("hello", style="bold")
    text.stylize("red", 0, 2)
    assert text.plain == "hello"


def check_progress():
    from rich.progress import Progress

    with Progress(console=Console(file=None, quiet=True)) as progress:
        task = progress.add_task("work", total=2)
        progress.advance(task, 2)
        assert progress.finished

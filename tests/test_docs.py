"""Documentation kept honest: every CLI command is described in docs/cli.md."""

from __future__ import annotations

from pathlib import Path

import click
import typer.main

from kruispunt.cli import app

CLI_DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _command_paths(command: click.Command, prefix: str) -> list[str]:
    if isinstance(command, click.Group):
        paths = []
        for name, sub in command.commands.items():
            paths += _command_paths(sub, f"{prefix} {name}")
        return paths
    return [prefix]


def test_every_command_is_documented() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    commands = _command_paths(typer.main.get_command(app), "kruispunt")
    missing = [path for path in commands if f"`{path}" not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"

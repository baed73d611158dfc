"""Documentation kept honest: every CLI command is described in docs/cli.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kruispunt.cli import COMMANDS, load_command

CLI_DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _command_paths(command: Any, prefix: str) -> list[str]:
    if hasattr(command, "list_commands"):  # a group (Typer vendors its own click)
        paths = []
        for name in command.list_commands(None):
            sub = command.get_command(None, name)
            if sub is not None:
                paths += _command_paths(sub, f"{prefix} {name}")
        return paths
    return [prefix]


def test_every_command_is_documented() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    commands = [path for name in COMMANDS for path in _command_paths(load_command(name), f"kruispunt {name}")]
    missing = [path for path in commands if f"`{path}" not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"

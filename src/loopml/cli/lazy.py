"""Command groups that import their module only when used, so ``loopml --help`` is instant.

``loopml --help`` lists every command from the short help written here; running
a command, or asking for its own help, imports its module (and the libraries it
needs) then, and only that one. A test checks that each short help here is the
first line of the loaded command's own help, so the two cannot drift apart.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import ClassVar

import typer.main
from typer import Context
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """Where a command lives (``module:attribute``, a Typer app or a function) and its short help."""

    target: str
    help: str


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands in ``commands_by_name`` load on first use."""

    commands_by_name: ClassVar[dict[str, Lazy]] = {}

    def list_commands(self, ctx: Context) -> list[str]:
        return list(dict.fromkeys([*self.commands_by_name, *self.commands]))

    def get_command(self, ctx: Context, cmd_name: str) -> TyperCommand | None:
        if cmd_name in self.commands or cmd_name not in self.commands_by_name:
            return self.commands.get(cmd_name)
        lazy = self.commands_by_name[cmd_name]  # listed in help: no import needed for that
        return TyperCommand(cmd_name, help=lazy.help, short_help=lazy.help)

    def get_help_option(self, ctx: Context):
        """``--help`` defaults to False, not None: Typer then has nothing to coerce when
        a subcommand's help is asked for, and does not import pydantic to do it."""
        option = super().get_help_option(ctx)
        if option is not None:
            option.default = False
        return option

    def resolve_command(self, ctx: Context, args: list[str]):
        if args and args[0] in self.commands_by_name:
            self.load(args[0])
        elif args and not args[0].startswith("-") and args[0] not in self.commands:
            close = difflib.get_close_matches(args[0], self.list_commands(ctx), n=1)
            if close:  # suggest among all commands, loaded or not
                ctx.fail(f"No such command {args[0]!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def load(self, name: str) -> TyperCommand:
        """The real command, imported now (once)."""
        if name not in self.commands:
            self.commands[name] = _import(name, self.commands_by_name[name].target)
        return self.commands[name]


def lazy_group(commands: dict[str, Lazy]) -> type[LazyGroup]:
    """A ``LazyGroup`` class for these commands (Typer takes a class, not an instance)."""
    return type("LoopmlGroup", (LazyGroup,), {"commands_by_name": commands})


def _import(name: str, target: str) -> TyperCommand:
    module_name, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module_name), attribute)
    if isinstance(found, typer.Typer):
        command = typer.main.get_group(found)  # a group, even with one subcommand
    else:
        single = typer.Typer()
        single.command(name)(found)
        command = typer.main.get_command(single)
    command.name = name
    return command

"""``loopml users``: add, list and disable the people who sign in to the server."""

from __future__ import annotations

import sys

import typer

from loopml._context import get_context
from loopml.cli.output import COLUMNS, JSON, console, print_list

app = typer.Typer(help="Add, list and disable users.", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="The user's name, e.g. alice."),
    role: str = typer.Option(..., "--role", "-r", help="viewer, operator or admin."),
    model: list[str] = typer.Option(
        None, "--model", "-m", help="Only this model family (repeat for several); default all."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    no_password: bool = typer.Option(
        False, "--no-password", help="No password: the user signs in with tokens only."
    ),
) -> None:
    """Add a user; asks for the password unless told otherwise."""
    from loopml.auth import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif no_password:
        password = None
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    context = get_context()
    user = users.add_user(
        context.store,
        name,
        role=role,
        password=password,
        models=model,
        actor=context.settings.actor,
    )
    scope = ", ".join(user.models) if user.models else "all models"
    console.print(f"[green]✓[/] user {user.name} ({user.role.value}, {scope})")


@app.command("list")
def list_(columns: str = COLUMNS, as_json: bool = JSON) -> None:
    """Users with their role, models and whether they may sign in."""
    from loopml.auth import users

    found = users.list_users(get_context().store)
    rows = [
        {
            "name": u.name,
            "role": u.role.value,
            "models": ", ".join(u.models) if u.models else "all",
            "password": "yes" if u.has_password else "no",
            "state": "disabled" if u.disabled else "active",
            "created": u.created_at,
            "by": u.created_by,
        }
        for u in found
    ]
    default = ["name", "role", "models", "password", "state", "created", "by"]
    print_list(
        rows,
        default=default,
        columns=columns,
        as_json=as_json,
        empty="No users: the server is open on loopback only (see docs/security.md).",
    )


@app.command("disable")
def disable(
    name: str = typer.Argument(..., help="The user's name."),
    reason: str = typer.Option(None, "--reason", help="Why; kept in the audit log."),
) -> None:
    """Stop a user signing in, by password or by any of their tokens."""
    from loopml.auth import users

    context = get_context()
    users.disable_user(context.store, name, actor=context.settings.actor, reason=reason)
    console.print(f"user {name} disabled")

"""``loopml tokens``: create, list and revoke API and service tokens."""

from __future__ import annotations

import typer

from loopml._context import get_context
from loopml.cli.output import COLUMNS, JSON, console, print_list

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="A name for the token, e.g. ci-alice or erp-scoring."),
    user: str = typer.Option(None, "--user", "-u", help="A personal token that acts as this user."),
    service: bool = typer.Option(
        False, "--service", help="A service token: it may only score and send feedback."
    ),
    model: list[str] = typer.Option(
        None, "--model", "-m", help="Only this model family (repeat for several)."
    ),
    days: float = typer.Option(90, "--days", help="Days until it expires."),
    no_expiry: bool = typer.Option(False, "--no-expiry", help="It never expires."),
) -> None:
    """Create a token and print its secret, once: only its hash is stored."""
    from loopml.auth import tokens

    context = get_context()
    made = tokens.create_token(
        context.store,
        name,
        user=user,
        service=service,
        models=model,
        days=None if no_expiry else days,
        actor=context.settings.actor,
    )
    expires = made.token.expires_at.strftime("%Y-%m-%d") if made.token.expires_at else "never"
    console.print(
        f"[green]✓[/] {made.token.kind} token {name} (expires {expires}). "
        "Its secret, shown only now:"
    )
    print(made.secret)  # plain, so scripts can capture it


@app.command("list")
def list_(
    user: str = typer.Option(None, "--user", "-u", help="Only this user's tokens."),
    columns: str = COLUMNS,
    as_json: bool = JSON,
) -> None:
    """Tokens with their owner, scope and expiry (never their secrets)."""
    from loopml.auth import tokens

    found = tokens.list_tokens(get_context().store, user=user)
    rows = [
        {
            "name": t.name,
            "kind": t.kind,
            "user": t.user,
            "models": ", ".join(t.models) if t.models else "all",
            "created": t.created_at,
            "expires": t.expires_at or "never",
            "state": t.state,
        }
        for t in found
    ]
    default = ["name", "kind", "user", "models", "created", "expires", "state"]
    print_list(rows, default=default, columns=columns, as_json=as_json, empty="No tokens.")


@app.command("revoke")
def revoke(
    name: str = typer.Argument(..., help="The token's name."),
    reason: str = typer.Option(None, "--reason", help="Why; kept in the audit log."),
) -> None:
    """Revoke a token; servers refuse it within seconds."""
    from loopml.auth import tokens

    context = get_context()
    tokens.revoke_token(context.store, name, actor=context.settings.actor, reason=reason)
    console.print(f"token {name} revoked")

"""`pulsecast api`, `pulsecast keys ...` and `pulsecast tenant export`: the HTTP API, its keys and a tenant's data.

A key is printed once, when it is created or rotated; the store keeps only its hash.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from pulsecast.cli.render import table
from pulsecast.keys import DEFAULT_RATE, KeyRecord, KeyStore, UnknownKey
from pulsecast.metrics.scope import Kind, Scope
from pulsecast.settings import get_settings

keys_app = typer.Typer(help="API keys of the HTTP API: one per principal (admin, advertiser tenant, data owner).")
tenant_app = typer.Typer(help="A tenant's data rights.")
console = Console()


def api(port: int = typer.Option(8000, help="Port on 127.0.0.1.")) -> None:
    """Serve the HTTP API over the published snapshots on 127.0.0.1 (keys: `pulsecast keys create`).

    With no live admin key yet (a fresh data folder), one is created and printed, once."""
    from pulsecast.http.server import HOST, serve

    settings = get_settings()
    store = KeyStore(settings.key_store)
    if not any(r.scope.kind is Kind.admin and not r.revoked_at for r in store.list()):
        _show_key(*store.create(Scope(), "admin (first start of pulsecast api)"), "No admin key yet: created")
    console.print(f"Pulsecast API on http://{HOST}:{port}/api (schema: /openapi.json; Ctrl-C stops); "
                  f"the dashboard on http://{HOST}:{port}/ (sign in with a key)")
    serve(settings, port)


def _store() -> KeyStore:
    return KeyStore(get_settings().key_store)


@keys_app.command("create")
def create(
    tenant: list[str] = typer.Option([], "--tenant", help="An advertiser: its brand ids (repeatable)."),
    owner: list[str] = typer.Option([], "--owner", help="A data owner: its owner id."),
    admin: bool = typer.Option(False, "--admin", help="Everything, every question."),
    name: str = typer.Option("", "--name", help="Who holds the key (default: the principal)."),
    rate: float = typer.Option(DEFAULT_RATE, min=0.1, help="Requests per second the key may make."),
) -> None:
    """Create a key for exactly one principal and print it, once."""
    given = [kind for kind, on in ((Kind.advertiser, tenant), (Kind.owner, owner), (Kind.admin, admin)) if on]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --tenant BRAND_ID..., --owner OWNER_ID or --admin")
    scope = Scope(given[0], frozenset(tenant), frozenset(owner))
    record, key = _store().create(scope, name or _describe(scope), rate)
    _show_key(record, key, "Created")


@keys_app.command("list")
def list_keys() -> None:
    """Every key: id, name, principal, rate and state (never a secret)."""
    rows = [
        [r.key_id, r.name, r.principal, f"{r.rate:g}/s", *map(_minute, (r.created_at, r.rotated_at, r.revoked_at))]
        for r in _store().list()
    ]
    columns = ["key_id", "name", "principal", "rate", "created", "rotated", "revoked"]
    console.print(table("API keys", columns, rows, set()) if rows else "No keys yet: `pulsecast keys create`.")


@keys_app.command("rotate")
def rotate(key_id: str = typer.Argument(..., help="The key's id (`pulsecast keys list`).")) -> None:
    """A new key for the same id and principal; the old one stops working at once."""
    record, key = _call(lambda store: store.rotate(key_id))
    _show_key(record, key, "Rotated")


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key's id (`pulsecast keys list`).")) -> None:
    """Stop a key for good (it stays listed, for the audit log)."""
    record = _call(lambda store: store.revoke(key_id))
    console.print(f"Revoked key {record.key_id} ({record.principal}) at {record.revoked_at}.")


@tenant_app.command("export")
def export(
    tenant: str = typer.Argument(..., help="The key id or key name whose view to export."),
    out: Path = typer.Option(Path("export"), "--out", help="Folder for the Parquet files."),
) -> None:
    """Everything the tenant's key can see, one Parquet file per question (and the daily trend per campaign)."""
    from pulsecast.metrics.export import export as export_scope

    matches = [r for r in _store().list() if tenant in (r.key_id, r.name)]
    if len(matches) != 1:
        found = "no key" if not matches else f"{len(matches)} keys"
        raise typer.BadParameter(f"{found} with id or name {tenant!r}; `pulsecast keys list` shows them")
    written = export_scope(get_settings(), matches[0].scope, out)
    console.print(f"Wrote {len(written)} files to {out}: {', '.join(f'{n} ({r:,} rows)' for n, r in written.items())}")


def _call(action):
    try:
        return action(_store())
    except UnknownKey as error:
        raise typer.BadParameter(str(error), param_hint="KEY_ID") from None


def _minute(moment: str | None) -> str:
    """A stored UTC time to the minute, as the table shows it."""
    return moment[:16].replace("T", " ") if moment else ""


def _describe(scope: Scope) -> str:
    members = sorted(scope.brands | scope.owners)
    return f"{scope.kind.value} {' '.join(members)}".strip()


def _show_key(record: KeyRecord, key: str, done: str) -> None:
    console.print(f"{done} key {record.key_id} for {record.principal} ({record.rate:g} requests/s).")
    console.print("The key, shown this once (store it now; only its hash is kept):", highlight=False)
    print(key)

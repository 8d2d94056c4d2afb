"""``seglab methods``: the catalogue, as a table or as JSON."""

from __future__ import annotations

import json

import click


@click.command(name="methods")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of every entry with its parameter schema.")
@click.option("--family", default=None, help="Only this family (threshold, edges, ...).")
@click.option("--kind", type=click.Choice(["method", "pre", "post", "all"]), default="all", show_default=True)
def command(as_json, family, kind):
    """List registered methods, pre-steps and post-steps with their parameters."""
    from seglab._core.errors import ParameterError, close_matches_hint
    from seglab._core.registry import all_specs

    every = all_specs()
    families = sorted({s.family for s in every})
    if family is not None and family not in families:
        raise ParameterError(
            f"unknown family {family!r}." + close_matches_hint(family, families)
            + f" Families: {', '.join(families)}"
        )
    specs = [s for s in every if (kind == "all" or s.kind == kind) and family in (None, s.family)]
    if as_json:
        from seglab._core.registry import current_registry

        registry = current_registry()
        # origin: 'seglab' for built-in entries, else the plugin's entry-point name
        click.echo(json.dumps([{**s.to_dict(), "origin": registry.origin(s)} for s in specs], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="seglab catalogue", show_lines=False)
    for column in ("name", "kind", "family", "output", "parameters (default)", "summary"):
        table.add_column(column)
    for spec in specs:
        params = ", ".join(f"{p.name}={p.default!r}" for p in spec.params)
        needs = f" needs: {', '.join(spec.inputs)}" if spec.inputs else ""
        table.add_row(spec.name, spec.kind, spec.family, spec.output, params, spec.summary + needs)
    Console().print(table)

"""``seglab methods``: the catalogue, as a table or as JSON."""

from __future__ import annotations

import json

import click

# How a user gives each kind of input on the command line (shown by `seglab methods NAME`).
INPUT_FORMATS = {
    "seeds": ("--seeds LABELS.png (a label image, 0 = unlabelled, 1, 2, ... = classes) or --seeds-json FILE:\n"
              '  {"seeds": [{"class": 1, "circle": [row, col, radius]},\n'
              '             {"class": 2, "points": [[row, col], ...]},\n'
              '             {"class": 2, "polyline": [[row, col], ...], "width": 3}]}\n'
              "  later entries paint over earlier ones"),
    "contour": "--contour ROW,COL,RADIUS (a circle) or a JSON file [[row, col], ...] of points",
    "rect": "--rect ROW,COL,HEIGHT,WIDTH (the box around the object)",
    "markers": "--markers LABELS.tif (a label image of markers, 0 = none)",
    "model": "--param model=FOLDER (a model folder written by `seglab train`)",
}

PIPELINE_FORMAT = """\b
Pipeline file (YAML or JSON), for --pipeline of segment, compare and tune:
  pre:                       # optional, run in order
    - name: invert
    - name: median
      params: {size: 3}
  method:
    name: otsu
    params: {}
  post:                      # optional
    - name: remove_small_objects
      params: {min_size: 64}
`method: otsu` alone is a valid file; `seglab tune` writes best.yaml in this format."""


def _show(spec) -> None:
    """Print one entry: summary, inputs and how to give them, parameters with meaning, range and default."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{spec.name}[/bold]  ({spec.kind}, family {spec.family}, output {spec.output})",
                  highlight=False)
    console.print(spec.summary, markup=False, highlight=False)
    for name in spec.inputs:
        console.print(f"needs {name}: {INPUT_FORMATS.get(name, '')}", markup=False, highlight=False)
    for name in spec.optional_inputs:
        console.print(f"optional {name}: {INPUT_FORMATS.get(name, '')}", markup=False, highlight=False)
    if spec.params:
        table = Table(show_lines=False, box=None, pad_edge=False)
        for column in ("parameter", "meaning", "accepts", "default", "typical"):
            table.add_column(column, overflow="fold")
        for p in spec.params:
            typical = f"{p.tune[0]:g} to {p.tune[-1]:g}" if p.tune and all(
                isinstance(v, (int, float)) for v in p.tune) else (", ".join(map(str, p.tune)) if p.tune else "")
            table.add_row(p.name, p.help, p.describe(), repr(p.default), typical)
        console.print(table)
    else:
        console.print("no parameters", highlight=False)
    if spec.references:
        console.print("references: " + "; ".join(spec.references), markup=False, highlight=False)
    if spec.kind == "method":
        example = " ".join(f"--param {p.name}={p.default}" for p in spec.params[:1] if p.default is not None)
        console.print(f"example: seglab segment IMAGE --method {spec.name} {example} --out OUT".rstrip(),
                      markup=False, highlight=False)
    else:
        console.print(f"example: seglab segment IMAGE --method otsu --{spec.kind} {spec.name} --out OUT",
                      markup=False, highlight=False)


@click.command(name="methods", epilog=PIPELINE_FORMAT)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of every entry with its parameter schema.")
@click.option("--family", default=None, help="Only this family (threshold, edges, ...).")
@click.option("--kind", type=click.Choice(["method", "pre", "post", "all"]), default="all", show_default=True)
def command(name, as_json, family, kind):
    """List registered methods, pre-steps and post-steps; `seglab methods NAME` explains one.

    \b
    seglab methods            one line per entry
    seglab methods otsu       its parameters: meaning, accepted range, default, typical values,
                              the inputs it needs and how to give them
    seglab methods --json     the full schema (what the web form and napari read)
    """
    from seglab._core.errors import ParameterError, close_matches_hint
    from seglab._core.registry import all_specs

    every = all_specs()
    if name is not None:
        matches = [s for s in every if s.name == name and (kind == "all" or s.kind == kind)]
        if not matches:
            names = sorted({s.name for s in every})
            from seglab._core.errors import UnknownMethodError

            raise UnknownMethodError(f"no method or step named {name!r}." + close_matches_hint(name, names)
                                     + " `seglab methods` lists them")
        if as_json:
            click.echo(json.dumps([s.to_dict() for s in matches], indent=2))
            return
        for spec in matches:
            _show(spec)
        return
    families = sorted({s.family for s in every})
    if family is not None and family not in families:
        raise ParameterError(
            f"unknown family {family!r}." + close_matches_hint(family, families)
            + f" Families: {', '.join(families)}"
        )
    specs = [s for s in every if (kind == "all" or s.kind == kind) and family in (None, s.family)]
    if as_json:
        from seglab._core.registry import current_registry

        click.echo(json.dumps(current_registry().catalogue(specs), indent=2))
        return
    # One line per entry, the full name never cut; the summary is cut to the terminal width.
    # Parameters and how to give inputs: `seglab methods NAME`.
    import shutil

    columns = shutil.get_terminal_size((100, 24)).columns
    width = max((len(s.name) for s in specs), default=4)
    click.echo(f"{'name':<{width}}  {'kind':<6} {'output':<7} summary")
    for spec in specs:
        needs = f" (needs {', '.join(spec.inputs)})" if spec.inputs else ""
        line = f"{spec.name:<{width}}  {spec.kind:<6} {spec.output:<7} {spec.summary}{needs}"
        click.echo(line if len(line) <= columns else line[: max(columns - 1, width + 20)] + "…")

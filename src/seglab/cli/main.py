"""The ``seglab`` command: a thin front end over the Python API.

Commands are imported lazily (each lives in ``seglab/cli/_<name>.py`` and
defines ``command``); this module imports only click, so ``seglab --help``
stays fast. Command modules import numerical libraries inside their
functions, never at module level.

Errors: a :class:`~seglab.SeglabError` (bad input, bad usage) prints one line
on stderr and exits with code 2; any other failure prints one line and exits
with code 1. ``--debug`` shows the traceback instead. No line is wrapped
(click and Rich wrap only what is drawn for a terminal), and third-party
log records stay off stderr unless ``--debug`` is given.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

COMMANDS = {
    "segment": ("seglab.cli._segment", "Segment images with a method and optional pre/post steps."),
    "evaluate": ("seglab.cli._evaluate", "Score a prediction against ground truth (truth first)."),
    "methods": ("seglab.cli._methods", "List the method catalogue (--json for machines)."),
    "demo": ("seglab.cli._demo", "Run the main job on bundled sample data and write an HTML report."),
    "measure": ("seglab.cli._measure", "Measure objects of a label image (CSV table)."),
    "plot": ("seglab.cli._plot", "Draw pictures of a result (histogram, elbow, overlays, panels)."),
    "compare": ("seglab.cli._compare", "Run several methods against ground truth and rank them."),
    "tune": ("seglab.cli._tune", "Search method parameters against ground truth (cross-validated)."),
    "tile": ("seglab.cli._tile", "Run a pipeline over a large image in tiles with dask."),
    "train": ("seglab.cli._train", "Train a pixel classifier or a U-Net on your images (writes a model folder)."),
    "serve": ("seglab.cli._serve", "Start the browser workbench (prints a URL with an access token)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx):
        return [name for name, (module, _) in COMMANDS.items() if importlib.util.find_spec(module) is not None]

    def get_command(self, ctx, name):
        entry = COMMANDS.get(name)
        if entry is None or importlib.util.find_spec(entry[0]) is None:
            return None
        return importlib.import_module(entry[0]).command

    def format_commands(self, ctx, formatter):
        # Short help from the table above, so `seglab --help` imports no command module.
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            # click would print an empty line and raise Abort; main() prints the one line instead
            raise _Stopped(exc) from None

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            import difflib

            if args and args[0] not in COMMANDS:
                close = difflib.get_close_matches(args[0], COMMANDS, n=1)
                if close:
                    raise click.UsageError(f"{exc.message} Did you mean {close[0]!r}?", ctx) from None
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seglab")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx, debug):
    """seglab: segment images, measure the result, compare and tune methods."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv=None) -> int:
    """Entry point of the ``seglab`` script.

    One error path for every command: a :class:`~seglab.SeglabError` or a
    usage error prints ``seglab: error: <one line>`` and returns 2; anything
    else prints ``seglab: unexpected <Type>: <one line> (run again with
    --debug for the traceback)`` and returns 1. Warnings print as one
    ``seglab: warning:`` line; third-party log records and warnings stay off
    stderr unless ``--debug`` is given.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    from ._common import remove_empty_created_folders

    try:
        with _quiet_libraries(debug), _terminate_as_interrupt():
            return _run(args, debug)
    finally:
        remove_empty_created_folders()  # an output folder the failed run created and left empty goes again


def _run(args: list[str], debug: bool) -> int:
    from seglab._core.errors import SeglabError, one_line, printable

    try:
        # With standalone_mode=False click returns the code of a `click.exceptions.Exit` instead of exiting.
        returned = cli.main(args=args, prog_name="seglab", standalone_mode=False)
        if isinstance(returned, int):
            return returned
    except _Stopped as stopped:
        return _interrupted(stopped.interrupt)
    except click.exceptions.Abort:
        click.echo("seglab: aborted", err=True)
        return 130
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.UsageError as exc:
        ctx = exc.ctx
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            click.echo(ctx.get_help())  # `seglab` or `seglab tune` alone: the help is the answer, not an error
            return 0
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(printable(f"seglab: error: {one_line(exc.format_message())}{where}"), err=True)
        return 2
    except click.ClickException as exc:
        click.echo(printable(f"seglab: error: {one_line(exc.format_message())}"), err=True)
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:  # noqa: BLE001 - the CLI boundary turns every failure into one line
        if debug:
            raise
        click.echo(error_line(exc), err=True)
        return 2 if isinstance(exc, SeglabError) else 1
    return 0


def _interrupted(exc: KeyboardInterrupt) -> int:
    """The line and exit code for Ctrl-C (130) or SIGTERM/SIGHUP (128 + the signal's number)."""
    if isinstance(exc, Terminated):
        click.echo(f"seglab: terminated ({exc.name}); finished outputs are kept, run the same command again to go on",
                   err=True)
        return 128 + exc.signum
    click.echo("seglab: interrupted; finished outputs are kept, run the same command again to go on", err=True)
    return 130


def error_line(exc: BaseException, prefix: str = "") -> str:
    """The one stderr line for an error: ``seglab: error: ...`` (user errors) or ``seglab: unexpected ...``.

    `prefix` (a file name) is put before the message unless the message already starts with it.
    """
    from seglab._core.errors import SeglabError, one_line, printable

    try:
        text = str(exc).strip()
    except Exception:  # noqa: BLE001 - a broken __str__ must not replace the error being reported
        text = ""
    message = one_line(text or type(exc).__name__)
    if prefix and not (message.startswith(prefix) or message.startswith(one_line(prefix))):
        message = f"{prefix}: {message}"
    if isinstance(exc, SeglabError):
        line = f"seglab: error: {message}"
    elif isinstance(exc, MemoryError):
        line = f"seglab: unexpected MemoryError (out of memory): {message} (run again with --debug for the traceback)"
    else:
        line = f"seglab: unexpected {type(exc).__name__}: {message} (run again with --debug for the traceback)"
    return printable(one_line(line))


class _Stopped(BaseException):
    """Carries Ctrl-C or :class:`Terminated` past click (which would print an empty line) to :func:`main`."""

    def __init__(self, interrupt: KeyboardInterrupt):
        super().__init__(interrupt)
        self.interrupt = interrupt


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread as Ctrl-C is, so that every ``finally`` runs."""

    def __init__(self, signum: int):
        import signal

        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


class _terminate_as_interrupt:
    """Turn SIGTERM/SIGHUP into :class:`Terminated` for the command's duration.

    Python's default for SIGTERM ends the process at once: no ``finally`` runs, so the atomic
    writer's temporary file (``.<name>.<random>.tmp``) and the first outputs of the file in
    progress (a mask without its record) stayed behind when a batch was stopped by ``kill``, a
    job scheduler or a closed terminal. Raised as an exception instead, the same clean-up as
    for Ctrl-C runs. Only the main thread can set handlers; elsewhere this does nothing.
    """

    _SIGNALS = ("SIGTERM", "SIGHUP")

    def __enter__(self):
        import signal
        import threading

        self._previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in self._SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            previous = signal.getsignal(signum)
            if previous is not signal.SIG_DFL:  # ignored (nohup) or handled by the embedding program: leave it
                continue
            signal.signal(signum, _raise_terminated)
            self._previous[signum] = previous
        return self

    def __exit__(self, *exc_info):
        import signal

        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        return False


def _raise_terminated(signum, frame):
    raise Terminated(signum)


class _quiet_libraries:
    """Keep third-party log records and warnings off stderr; show seglab's warnings as one line each.

    Without a handler, Python's logging prints WARNING records of libraries (tifffile: "TiffPage 0:
    ...") to stderr through ``logging.lastResort``; a NullHandler on the root logger for the command's
    duration stops that. ``--debug`` leaves logging and warnings as they are.
    """

    def __init__(self, debug: bool):
        self.debug = debug
        self._handler = None
        self._warnings = None

    def __enter__(self):
        if self.debug:
            return self
        import logging
        import warnings

        self._handler = logging.NullHandler()
        logging.getLogger().addHandler(self._handler)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        from seglab._core.errors import SeglabWarning

        warnings.simplefilter("ignore")
        warnings.simplefilter("default", SeglabWarning)
        warnings.showwarning = _show_warning
        return self

    def __exit__(self, *exc_info):
        if self._warnings is not None:
            self._warnings.__exit__(*exc_info)
        if self._handler is not None:
            import logging

            logging.getLogger().removeHandler(self._handler)
        return False


def _show_warning(message, category, filename, lineno, file=None, line=None):
    from seglab._core.errors import one_line, printable

    click.echo(printable(f"seglab: warning: {one_line(str(message))}"), err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

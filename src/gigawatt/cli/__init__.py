"""The `gigawatt` command line.

Exit codes: 0 done; 2 bad input or usage (one line on stderr); 3 a plan with a shortfall
under ``--fail-on-shortfall``; 70 a bug in gigawatt (one line; GIGAWATT_DEBUG=1 for the
traceback); 130 interrupted.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

from gigawatt.errors import GigawattError

EXIT_USAGE = 2
EXIT_BUG = 70


def _click_exceptions() -> Any:
    """The click exceptions module Typer raises from (it vendors click since 0.20)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older Typer on stock click
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def usage_error(exc: Any) -> str:
    """One line for a click usage error, then where to read the usage."""
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "gigawatt"
    message = _one_line(exc.format_message())
    return f"error: {message}\nusage: {command} --help"


def main(argv: list[str] | None = None) -> None:
    import typer

    from gigawatt.cli.app import app

    click_exc = _click_exceptions()
    try:
        code = app(args=argv, prog_name="gigawatt", standalone_mode=False)
    except GigawattError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except click_exc.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help(), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except click_exc.UsageError as exc:
        print(usage_error(exc), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except typer.Abort:
        sys.exit(130)
    except click_exc.ClickException as exc:
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # `gigawatt ... | head`: stop quietly, like other Unix tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    except SystemExit:
        raise
    except MemoryError:
        if os.environ.get("GIGAWATT_DEBUG"):
            raise
        print("error: out of memory; the input is too large for this machine", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            print(f"error: disk full writing {exc.filename or 'output'}", file=sys.stderr)
            sys.exit(EXIT_USAGE)
        if exc.filename is not None:
            reason = exc.strerror or type(exc).__name__
            print(f"error: {exc.filename}: {reason.lower()}; check the path and its permissions",
                  file=sys.stderr)
            sys.exit(EXIT_USAGE)
        _bug(exc)
    except Exception as exc:
        _bug(exc)
    if isinstance(code, int) and code:
        sys.exit(code)


def _bug(exc: BaseException) -> None:
    if os.environ.get("GIGAWATT_DEBUG"):
        raise exc
    print(
        f"internal error: {type(exc).__name__}: {_one_line(exc)[:300]}; this is a bug in gigawatt, "
        "please report it (GIGAWATT_DEBUG=1 shows the traceback)",
        file=sys.stderr,
    )
    sys.exit(EXIT_BUG)

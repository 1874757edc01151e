"""The `gigawatt` command line."""

from __future__ import annotations

import sys

from gigawatt.errors import GigawattError


def main() -> None:
    from gigawatt.cli.app import app

    try:
        app(standalone_mode=False)
    except GigawattError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and friends
        import click

        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise

"""The command line's one error handler and exit-code convention (see :mod:`cli`)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from cases.errors import DomainError
from settings import SettingsError

F = TypeVar("F", bound=Callable[..., Any])

#: done in part: the good rows kept, the rejected ones listed
EXIT_PARTLY = 1
#: refused: bad input, a domain rule or a setting
EXIT_REFUSED = 2


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """One ``error: ...`` line on stderr and exit ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def domain_errors(func: F) -> F:
    """Turn domain and settings errors into one readable line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DomainError, SettingsError) as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]

"""The command line, one module per command group; ``main.py`` builds the ``App`` and registers
them on its root group.

Exit codes, the same for every command:

- 0: done;
- 1: done in part (``import`` kept the good rows and lists the rejected ones);
- 2: refused: bad input, a domain rule, a setting (one ``error: ...`` line on stderr, from
  :func:`cli.errors.domain_errors` or :func:`cli.errors.fail`), or click's own usage errors.

Each command takes the ``App`` as :class:`cli.context.Deps` and opens its own transaction.
"""

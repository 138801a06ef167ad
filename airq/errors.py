"""The errors of the command line: their message says how to fix the problem.

- :class:`CliError`: the command could not do its work (a file, a service, the registry, the
  data); exit status 1.
- :class:`UsageError`: the arguments themselves are wrong or missing; exit status 2, as
  argparse gives for its own usage errors.
"""


class CliError(Exception):
    """Printed without a traceback (unless --verbose); exit status 1. Fix what the message
    names (a file, a setting, a service) and run the command again."""

    exit_status = 1


class UsageError(CliError):
    """Wrong or missing arguments; exit status 2. Run the command again with the arguments the
    message names."""

    exit_status = 2

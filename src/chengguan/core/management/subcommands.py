"""Helpers for management commands with subcommands (`chengguan audit verify`, `open311 key create`…).

argparse hands everything after a subcommand to that subcommand's own parser, which knows none of
Django's standard options: `chengguan sessions clear --skip-checks` was refused while
`chengguan sessions --skip-checks clear` worked. Every command with subcommands gives each of its
subcommand parsers (at every level) `parents=[standard_options(parser)]`."""

from __future__ import annotations

import argparse
import copy


def standard_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Django's standard options of a command's parser (--skip-checks, -v, --traceback,
    --no-color…) as a parent for its subcommands' parsers.

    argparse hands everything after a subcommand to that subcommand's parser, which knew none of
    them: `audit verify --skip-checks` was refused. Each copy has no default (SUPPRESS), so an
    option given before the subcommand keeps its value and one not given keeps the main parser's
    default. Call it first in `add_arguments`, before the command adds options of its own."""
    common = argparse.ArgumentParser(add_help=False)
    for action in parser._actions:  # the options BaseCommand.create_parser added before us
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            clone = copy.copy(action)
            clone.default = argparse.SUPPRESS
            common._add_action(clone)
    return common

"""Helpers for management commands with subcommands (`chengguan audit verify`, `open311 key create`…).

argparse hands everything after a subcommand to that subcommand's own parser, which knows none of
Django's standard options: `chengguan sessions clear --skip-checks` was refused while
`chengguan sessions --skip-checks clear` worked. Every command with subcommands makes them with
`subcommands(parser, …)` instead of `parser.add_subparsers(…)`, at every level."""

from __future__ import annotations

import argparse
import copy


def standard_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Django's standard options of a command's parser (--skip-checks, -v, --traceback,
    --no-color…) as a parent for its subcommands' parsers.

    Each copy has no default (SUPPRESS), so an option given before the subcommand keeps its value
    and one not given keeps the main parser's default. Taken before the command adds options of its
    own (subcommands() is called first in `add_arguments`)."""
    common = argparse.ArgumentParser(add_help=False)
    for action in parser._actions:  # the options BaseCommand.create_parser added before us
        if action.option_strings and not isinstance(action, argparse._HelpAction):
            clone = copy.copy(action)
            clone.default = argparse.SUPPRESS
            common._add_action(clone)
    return common


def subcommands(parser: argparse.ArgumentParser, **kwargs):
    """`parser.add_subparsers(**kwargs)` whose `add_parser` gives every subcommand the standard
    options as a parent (a nested level calls subcommands() on its own subcommand's parser)."""
    common = standard_options(parser)
    action = parser.add_subparsers(**kwargs)
    add_parser = action.add_parser

    def with_standard_options(name, **options):
        return add_parser(name, **{**options, "parents": [common, *options.get("parents", ())]})

    action.add_parser = with_standard_options
    return action

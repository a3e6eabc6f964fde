"""Every chengguan management command with subcommands takes Django's standard options
(--skip-checks, -v…) after its subcommands too, at every level, and still refuses unknown ones.

argparse hands everything after a subcommand to the subcommand's own parser: without
the standard options as its parent (`chengguan.core.management.subcommands.subcommands`),
`chengguan sessions clear --skip-checks` was refused while `chengguan sessions --skip-checks clear`
worked. The commands are found through Django's `get_commands()`, so a command added later is
covered without touching this file (unless its subcommands need arguments: see SAMPLE_ARGS)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError

# Sample values for the required arguments (positional or `required=True` options) of a leaf
# subcommand, by its full name. A leaf with required arguments must have an entry.
SAMPLE_ARGS: dict[str, list[str]] = {
    "audit export": ["--from", "2026-01-01", "--to", "2026-01-31"],
    "evaluation publish": ["2026-01"],
    "evaluation recompute": ["2026-01", "--reason", "correction", "--user", "alice"],
    "sessions end": ["alice"],
    "token create": ["alice"],
    "token revoke": ["abcd1234"],
    "otp enrol": ["alice"],
    "otp reset": ["alice"],
    "otp code": ["alice"],
    "open311 key create": ["12345 hotline"],
    "open311 key revoke": ["o311_abcdefg"],
    "grid import": ["boundaries.geojson", "--level", "district"],
    "grid export": ["--level", "grid", "-"],
    "calendar import": ["schedule.csv"],
}


@dataclass(frozen=True)
class Leaf:
    command: str
    path: tuple[str, ...]  # the subcommands after the command, e.g. ("key", "create")
    dests: tuple[tuple[str, str], ...]  # (dest, chosen name) of each subparsers level
    required: tuple[str, ...]  # the leaf's required arguments

    @property
    def name(self) -> str:
        return " ".join((self.command, *self.path))


def subparsers_action(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def create_parser(name: str) -> argparse.ArgumentParser:
    command = load_command_class(get_commands()[name], name)
    return command.create_parser("chengguan", name)


def leaves_of(command: str) -> list[Leaf]:
    def walk(parser, path, dests):
        action = subparsers_action(parser)
        if action is None:
            required = tuple("/".join(a.option_strings) or a.dest for a in parser._actions if a.required)
            yield Leaf(command, path, dests, required)
            return
        for choice, subparser in action.choices.items():
            yield from walk(subparser, (*path, choice), (*dests, (action.dest, choice)))

    return list(walk(create_parser(command), (), ()))


def commands_with_subcommands() -> list[str]:
    return sorted(
        name
        for name, app in get_commands().items()
        if app.startswith("chengguan") and subparsers_action(create_parser(name)) is not None
    )


LEAVES = [leaf for command in commands_with_subcommands() for leaf in leaves_of(command)]


def sample_args(leaf: Leaf) -> list[str]:
    if leaf.name not in SAMPLE_ARGS:
        if leaf.required:
            pytest.fail(
                f"`chengguan {leaf.name}` requires {', '.join(leaf.required)}: add sample values "
                f"for it to SAMPLE_ARGS in {__name__}"
            )
        return []
    return SAMPLE_ARGS[leaf.name]


def parse(leaf: Leaf, argv: list[str]) -> dict:
    return vars(create_parser(leaf.command).parse_args(argv))


def test_the_commands_with_subcommands_are_found():
    found = {leaf.name for leaf in LEAVES}
    assert {"audit verify", "sessions clear", "token create", "open311 key create"} <= found
    assert not set(SAMPLE_ARGS) - found, "SAMPLE_ARGS names subcommands that no longer exist"


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf.name)
def test_standard_options_are_taken_after_every_subcommand(leaf):
    args = sample_args(leaf)
    has_skip_checks = "--skip-checks" in create_parser(leaf.command)._option_string_actions
    standard = ["--skip-checks", "-v", "2"] if has_skip_checks else ["-v", "2"]
    expected = {"verbosity": 2, **({"skip_checks": True} if has_skip_checks else {})}
    path = list(leaf.path)
    # before the first subcommand, between the levels, and after the leaf
    for at in range(len(path) + 1):
        argv = [*path[:at], *standard, *path[at:], *args]
        options = parse(leaf, argv)
        assert {k: options[k] for k in expected} == expected, argv
        assert {dest: options[dest] for dest, _ in leaf.dests} == dict(leaf.dests), argv
    # not given, the standard options keep their defaults
    options = parse(leaf, [*path, *args])
    assert options["verbosity"] == 1 and options.get("skip_checks", False) is False


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf.name)
def test_unknown_options_are_still_refused(leaf):
    with pytest.raises(CommandError, match="unrecognized arguments: --no-such-option"):
        parse(leaf, [*leaf.path, *sample_args(leaf), "--no-such-option"])

"""The exceptions archsim raises for bad input.

Library code raises; only the CLI turns an :class:`ArchsimError` into a message and an exit code.
Every message names the file (when there is one), the key path and what was wrong.
"""
from __future__ import annotations


class ArchsimError(Exception):
    """Base class of every error archsim reports to a user."""


class ConfigError(ArchsimError):
    """A hardware description, energy table or sweep spec is malformed or invalid.

    ``problems`` holds one line per problem found, so that all problems of a file are reported
    at once.
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class TraceError(ArchsimError):
    """A trace file is missing, corrupt, of an unsupported version or inconsistent."""


class PriceError(ArchsimError):
    """An action or component has no entry in the energy/area table."""


class UnsupportedOpError(ArchsimError):
    """A hardware model was asked to run an operation it does not model."""

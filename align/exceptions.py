"""The exception hierarchy of fusealign.

Users catch :class:`AlignError`; the subclasses say what went wrong:

- :class:`ParameterError` -- malformed input (also a ``ValueError``).
- :class:`InfeasibleAlignmentError` -- well-formed input for which no alignment
  path exists (a band too narrow, a transcript too long for the audio).
- :class:`BackendUnavailableError` -- a requested backend (cuda, torch, an
  optional model) is missing (also a ``RuntimeError``).

Messages state what was expected, what was seen, and what to do.
"""

__all__ = [
    "AlignError",
    "ParameterError",
    "InfeasibleAlignmentError",
    "BackendUnavailableError",
]


class AlignError(Exception):
    """Root of every error raised by fusealign."""


class ParameterError(AlignError, ValueError):
    """An argument is malformed: wrong shape, dtype, range or option string."""


class InfeasibleAlignmentError(AlignError):
    """The input is well-formed but no alignment path exists."""


class BackendUnavailableError(AlignError, RuntimeError):
    """A backend that was asked for explicitly (cuda, torch, a model) is missing."""

"""User-facing errors: each names the problem and how to fix it.

The CLI prints these without a traceback and exits non-zero; anything else that
escapes is a bug.
"""


class GlovError(Exception):
    """An error caused by input or environment that the user can fix."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\n  fix: {fix}")


class ConfigError(GlovError):
    """Unknown config key, wrong value type, bad profile."""


class DataError(GlovError):
    """Missing/empty dataset, unreadable image, too few images for the shots."""


class ModelError(GlovError):
    """Unknown model name, a checkpoint that is not a checkpoint, missing weights."""


class RunDirError(GlovError):
    """A run directory that exists (needs --resume/--force) or is not a run."""

"""Errors a user can cause when pointing the engine at a checkpoint or giving it inputs."""

from sa2va_engine.user_error import UserError


class CheckpointError(UserError):
    """The checkpoint cannot be used as given (missing file, wrong keys or shapes, corrupt shard)."""


class UnsupportedModelError(UserError):
    """The checkpoint is a Sa2VA family this engine does not implement."""


class InputError(UserError):
    """An image, frame list or prompt the engine cannot work on."""

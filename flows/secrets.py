"""Secret references in channels.yaml: ``env:NAME`` and ``prefect:block-name``.

A value written as a reference is replaced by the secret when the config is
loaded; the secret itself never appears in the file, in errors, or in the log.
"""

from __future__ import annotations

import os
from typing import cast

from prefect.blocks.system import Secret

__all__ = ["SECRET_SCHEMES", "SecretReferenceError", "resolve_secret"]

SECRET_SCHEMES = ("env:", "prefect:")


class SecretReferenceError(LookupError):
    """A reference that cannot be resolved; the message names the reference, never a value."""


def resolve_secret(reference: str) -> str:
    """The secret a reference names; raise SecretReferenceError saying which reference failed and why."""
    scheme, _, name = reference.partition(":")
    if not name:
        raise SecretReferenceError(f"{reference!r} names no secret; write env:NAME or prefect:block-name")
    if scheme == "env":
        value = os.environ.get(name)
        if not value:
            raise SecretReferenceError(f"environment variable {name} (from {reference}) is not set")
        return value
    try:
        # load_config runs in a worker thread, never on the event loop: force Prefect's sync path.
        secret = cast("Secret[str]", Secret.load(name, _sync=True))  # type: ignore[call-arg]
    except (ValueError, RuntimeError) as exc:
        raise SecretReferenceError(
            f"Prefect Secret block {name!r} (from {reference}) cannot be loaded: {type(exc).__name__}; "
            f"create it with `prefect block create secret` or in the UI"
        ) from None
    value = secret.get()
    if not isinstance(value, str) or not value:
        raise SecretReferenceError(f"Prefect Secret block {name!r} (from {reference}) holds no text")
    return value

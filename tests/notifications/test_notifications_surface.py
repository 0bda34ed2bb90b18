"""The package's public surface and its import boundaries (DESIGN.md: imports point one way)."""

from __future__ import annotations

import ast
from pathlib import Path

import notifications
import notifications.simulator

PACKAGE = Path(notifications.__file__).parent
FORBIDDEN = {"incidents", "flows", "playbooks", "responders", "reports", "muster"}
ALLOWED_FROM_MUSTER = {"muster.errors"}
MAX_MODULE_LINES = 400


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_public_surface_is_exactly_the_documented_names() -> None:
    """notifications.__all__ is sorted and lists the API the flows call, nothing more."""
    assert notifications.__all__ == [
        "CHANNEL_TYPES",
        "Channel",
        "ChannelConfig",
        "DeliveryClient",
        "DeliveryLedger",
        "DeliveryOutcome",
        "DeliveryResult",
        "DeliveryStatus",
        "Message",
        "Pacer",
        "RateLimit",
        "RateLimitSetting",
        "StandardWebhooksAuth",
        "build_channel",
        "deliver",
        "delivery_client",
        "frame_message",
        "parse_channel_config",
        "sign_standard_webhook",
        "verify_standard_webhook",
    ]
    assert all(hasattr(notifications, name) for name in notifications.__all__)


def test_simulator_surface_is_sorted_and_complete() -> None:
    """notifications.simulator.__all__ is sorted and every name exists."""
    names = notifications.simulator.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert all(hasattr(notifications.simulator, name) for name in names)


def test_notifications_imports_no_other_project_package() -> None:
    """No module under notifications/ imports another project package, except muster.errors."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in FORBIDDEN and name not in ALLOWED_FROM_MUSTER:
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert offenders == []


def test_channels_import_no_other_channel() -> None:
    """A channel module imports the shared modules only, never another channel (nor a twin)."""
    offenders = []
    for path in sorted((PACKAGE / "channels").glob("*.py")):
        for name in imported_modules(path):
            if name.startswith(("notifications.channels.", "notifications.simulator")):
                offenders.append(f"{path.name} imports {name}")
    assert offenders == []


def test_twins_import_only_their_own_channel() -> None:
    """A simulator twin reads the facts of its own channel only; what twins share comes from the shared modules."""
    own = {"twilio": "twilio_sms"}
    offenders = []
    for path in sorted((PACKAGE / "simulator").glob("*.py")):
        channels = {n for n in imported_modules(path) if n.startswith("notifications.channels.")}
        allowed = {f"notifications.channels.{own.get(path.stem, path.stem)}"}
        offenders.extend(f"{path.name} imports {name}" for name in sorted(channels - allowed))
    assert offenders == []


def test_modules_stay_short() -> None:
    """Every module under notifications/ is at most about 400 lines."""
    long = [p.name for p in PACKAGE.rglob("*.py") if len(p.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES]
    assert long == []


def test_templates_are_packaged_files() -> None:
    """The message frames are .j2 files next to the code, one per language."""
    assert sorted(p.name for p in (PACKAGE / "templates").glob("*.j2")) == ["message.en.j2", "message.zh.j2"]

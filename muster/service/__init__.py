"""`muster serve`: intake (Muster JSON, PagerDuty v2, Alertmanager v4, CAP 1.2), runs started in-process."""

from muster.service.app import ServiceState, create_app
from muster.service.config import IntakeSource, ServiceConfig, load_service_config
from muster.service.intake import Intake, IntakeResult
from muster.service.runs import RunLauncher, unfinished_runs
from muster.service.serve import LOCAL_SOURCE, read_service_file, serve

__all__ = [
    "LOCAL_SOURCE",
    "Intake",
    "IntakeResult",
    "IntakeSource",
    "RunLauncher",
    "ServiceConfig",
    "ServiceState",
    "create_app",
    "load_service_config",
    "read_service_file",
    "serve",
    "unfinished_runs",
]

"""Type stubs of the extension module built from dlt-python/src (private: use dlt_telemetry)."""

from os import PathLike
from typing import Any, Optional, Sequence, Tuple, Union

def configure(
    library_name: str,
    library_version: str,
    python: Optional[str] = None,
    exec_info: Optional[Sequence[str]] = None,
    env_overrides: Optional[Sequence[Tuple[str, str]]] = None,
    sender: Optional[Tuple[Union[str, PathLike[str]], Sequence[str]]] = None,
) -> bool:
    """Configures this process's runtime (and its forked children's); the first call wins."""

def is_configured() -> bool:
    """Whether the runtime is configured."""

def track(category: str, name: str, properties: Optional[Any] = None) -> None:
    """Queues one event through this process's runtime, started now if needed."""

def flush(timeout: float) -> bool:
    """Waits up to ``timeout`` seconds, without the GIL, for what was tracked."""

def shutdown() -> None:
    """Shuts this process's runtime down within its deadline; it starts no other."""

def record_opt_out(global_dir: Union[str, PathLike[str]]) -> None:
    """Writes the opt-out mark under ``global_dir`` and deletes every outbox there."""

def sent_json(since_seconds: Optional[float] = None) -> str:
    """``dlt telemetry log --json``'s array, as JSON text; raises ``ValueError`` for a negative
    or non-finite ``since_seconds``."""

def status_json() -> str:
    """``dlt telemetry --json``'s object for this process's runtime, as JSON text."""

def serve_sender() -> Optional[int]:
    """When this process was started as the engine's detached sender, delivers what waits and
    returns the exit code; None otherwise."""

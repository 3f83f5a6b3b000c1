"""Settings: the ONLY place that reads os.environ.

Every CLI flag has a MOCKSERVER_* environment variable; a flag given on the command line wins.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "MOCKSERVER_"


def shipped_specs_dir() -> Path:
    """The specs shipped with the package (installed: mockserver/specs; source checkout: ./specs)."""
    packaged = Path(__file__).resolve().parent / "specs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "specs"


def default_cache_dir() -> Path:
    """Where validated specs are cached ($XDG_CACHE_HOME/mockserver, else ~/.cache/mockserver)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mockserver"


def _cache_dir(value: str) -> Path | None:
    return None if value.strip().lower() in ("off", "none", "0", "false") else Path(value)


def csv_set(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in value.split(",") if part.strip())


class StartupError(Exception):
    """A setting points at something the server cannot start with (a bad seed or fault file, ...)."""


MAX_JOURNAL_SIZE = 100_000  # entries; each keeps at most 64 KiB of body (journal.py)


def _journal_size(value: str | int) -> int:
    size = int(value)
    if not 0 <= size <= MAX_JOURNAL_SIZE:
        raise ValueError(f"the journal size must be between 0 and {MAX_JOURNAL_SIZE}")
    return size


def _one_of(*choices: str):
    def parse(value: str) -> str:
        if value.lower() not in {c.lower() for c in choices}:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return next(c for c in choices if c.lower() == value.lower())
    return parse


def cores() -> int:
    """The CPU cores this process may run on (a container's cpuset included): the default worker count,
    since fault rules, the journal and the limits are shared by all workers (shared.py)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no sched_getaffinity
        return os.cpu_count() or 1


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


MIN_ADMIN_TOKEN = 8  # characters; it is a password, and the journal masks it wherever it occurs


def admin_token(value: str) -> str:
    """The control plane's token: visible ASCII (it travels in a header and a form) and not too short."""
    if len(value) < MIN_ADMIN_TOKEN:
        raise ValueError(f"the admin token must be at least {MIN_ADMIN_TOKEN} characters long")
    if not all("!" <= ch <= "~" for ch in value):
        raise ValueError("the admin token may hold only visible ASCII characters (no spaces)")
    return value


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true/false (or 1/0, yes/no, on/off)")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    specs: Path = field(default_factory=shipped_specs_dir)
    data: Path = Path("mockserver-data")
    workers: int = field(default_factory=cores)
    # Empty = accept any non-empty API key (the default a CI user wants); else only these.
    api_keys: frozenset[str] = frozenset()
    # Audit user when the bearer token is not a JWT naming one.
    default_user: str = "mockserver"
    log_level: str = "INFO"
    # Control plane: seed file and fault-rule file applied at startup, journal size, vendor limits on.
    seed: Path | None = None
    faults: Path | None = None
    journal_size: int = 1000
    limits: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _journal_size(self.journal_size)  # flags bypass _parse; same bound either way
        if self.admin_token is not None:
            try:
                admin_token(self.admin_token)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}ADMIN_TOKEN (--admin-token): {exc}") from None
    # text | json (every log line one JSON object); see mockserver/logs.py.
    log_format: str = "text"
    # One line per request on the `mockserver.access` logger.
    access_log: bool = True
    # Validated specs, keyed by content hash, so a start skips YAML parsing and validation; None = off.
    cache: Path | None = field(default_factory=default_cache_dir)
    # ASP.NET vendors (VBA) bind bodies as System.Text.Json's web defaults do; true = strict (see dialects/aspnet.py).
    strict_binding: bool = False
    # Needed by every control-plane call but GET /__mockserver/health (admin/access.py); None = open.
    # repr=False: a logged or printed Settings never shows it.
    admin_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then MOCKSERVER_* variables, then explicit overrides (None means "not given")."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = _parse(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)


_PARSERS = {
    "port": int,
    "workers": _positive_int,
    "specs": Path,
    "data": Path,
    "api_keys": csv_set,
    "seed": Path,
    "faults": Path,
    "journal_size": _journal_size,
    "limits": csv_set,
    "log_level": _one_of("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    "log_format": _one_of("text", "json"),
    "access_log": _bool,
    "cache": _cache_dir,
    "strict_binding": _bool,
    "admin_token": admin_token,
}


SECRET_SETTINGS = frozenset({"admin_token"})  # an error message never echoes their value


def _parse(name: str, raw: str) -> Any:
    parser = _PARSERS.get(name, str)
    try:
        return parser(raw)
    except ValueError as exc:
        shown = "" if name in SECRET_SETTINGS else f"={raw!r}"
        raise ValueError(f"{ENV_PREFIX}{name.upper()}{shown}: {exc}") from None

"""`mockserver serve | check` (click, as Flask ships it)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .version import __version__
from .config import Settings, StartupError, csv_set


def _settings(**flags) -> Settings:
    try:
        return Settings.from_env(**flags)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _startup_failed(exc: Exception) -> None:
    click.echo(f"mockserver: {exc}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mockserver")
def main() -> None:
    """Stateful mock of vendor batch create-or-update APIs, for contract testing."""


@main.command()
@click.option("--host", default=None, help="Interface to bind [MOCKSERVER_HOST; default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [MOCKSERVER_PORT; default 8080].")
@click.option("--specs", type=click.Path(path_type=Path), default=None,
              help="Directory of OpenAPI specs [MOCKSERVER_SPECS; default: the shipped specs].")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Data directory for the TinyDB files [MOCKSERVER_DATA; default ./mockserver-data].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes [MOCKSERVER_WORKERS; default: one per CPU core].")
@click.option("--seed", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="JSON/YAML file of records to seed at startup [MOCKSERVER_SEED].")
@click.option("--faults", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="JSON/YAML file of fault rules active from startup [MOCKSERVER_FAULTS].")
@click.option("--journal-size", type=int, default=None,
              help="Requests kept in the journal [MOCKSERVER_JOURNAL_SIZE; default 1000; 0 = off].")
@click.option("--limits", default=None,
              help="Comma-separated vendors whose documented limits are on [MOCKSERVER_LIMITS; default none].")
@click.option("--admin-token", default=None, metavar="TOKEN",
              help="Token every control-plane call but health needs [MOCKSERVER_ADMIN_TOKEN, which `ps` does "
                   "not show; default none: the control plane is open].")
def serve(host, port, specs, data, workers, seed, faults, journal_size, limits, admin_token) -> None:
    """Serve every spec of the specs directory on the embedded TinyDB store."""
    settings = _settings(host=host, port=port, specs=specs, data=data, workers=workers, seed=seed, faults=faults,
                         journal_size=journal_size, limits=None if limits is None else csv_set(limits),
                         admin_token=admin_token or None)
    from .logs import configure_logging
    from .serving import check_bind, run

    configure_logging(settings.log_level, settings.log_format, secrets=[settings.admin_token])
    try:
        check_bind(settings.host, settings.port)  # before the specs load: a busy port fails at once
    except StartupError as exc:
        _startup_failed(exc)
    from .app import create_app
    from .specs import SpecError

    try:
        app = create_app(settings)
    except (SpecError, StartupError) as exc:
        click.echo(f"mockserver: {exc}", err=True)
        sys.exit(2)
    run(app, settings, on_exit=app.extensions["mockserver"].store.checkpoint_all)


@main.command()
@click.option("--specs", type=click.Path(path_type=Path), default=None,
              help="Directory of OpenAPI specs [MOCKSERVER_SPECS; default: the shipped specs].")
def check(specs) -> None:
    """Load and validate the specs; exit non-zero with a clear message if one cannot be served."""
    from .dialects import known_actions
    from .specs import SpecError, load_specs

    settings = _settings(specs=specs)
    try:
        loaded = load_specs(settings.specs, known_actions)
    except SpecError as exc:
        _startup_failed(exc)
    for spec in loaded:
        what = "control plane" if spec.extension.get("control-plane") else f"{len(spec.operations)} operations"
        click.echo(f"ok  {spec.path.name}: {what} under {spec.prefix or '/'}")

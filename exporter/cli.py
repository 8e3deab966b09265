"""Command line: `openclaw-exporter run|check|probe|device init`, `generate` (rules, alerts,
dashboards, docs/metrics.md) and `slo report`.

Each command imports what it uses inside its function: `--help` and `check` never load the
HTTP stack, and the runtime never imports a generator (only the `generate`/`slo` subcommands
do, when they run; tests/test_architecture.py holds both to that).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from exporter import __version__
from openclaw_schema.names import Module

if TYPE_CHECKING:
    import asyncio

    from exporter.app import Exporter
    from exporter.config import Config, ConfigError
    from exporter.probes.base import ProbeOutcome
    from exporter.secrets import Redactor
    from exporter.web_config import WebConfig, WebConfigError

log = logging.getLogger("exporter")

# Generator commands (their parsers: generator_parser).
GENERATORS = {"generate": "write (or --check) every generated file: rules, alerts, dashboards, deploy/ copies, docs/metrics.md",
              "slo": "error budget report from Prometheus"}

EXIT_OK, EXIT_PROBE_FAILED, EXIT_CONFIG = 0, 1, 2


def _print_problems(err: ConfigError | WebConfigError) -> None:
    print(f"{err.source}: {len(err.problems)} problem(s)", file=sys.stderr)
    for problem in err.problems:
        print(f"  {problem}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from exporter.config import ConfigError, load_config
    from exporter.web_config import WebConfigError, load_web_config

    try:
        config = load_config(args.config_file)
    except ConfigError as err:
        _print_problems(err)
        return EXIT_CONFIG
    if config.slo_state_file is not None:  # `run` would keep the live budget in memory only
        from slo.live import state_file_problem
        problem = state_file_problem(config.slo_state_file)
        if problem is not None:
            _print_problems(ConfigError(args.config_file, [f"slo.state_file: {problem}"]))
            return EXIT_CONFIG
    if config.kubernetes is not None and config.kubernetes.enabled:
        from exporter.kube import MISSING_CLIENT, client_missing

        if client_missing():  # `run` would stop at start-up
            _print_problems(ConfigError(args.config_file, [MISSING_CLIENT]))
            return EXIT_CONFIG
    if args.web_config_file:
        try:
            load_web_config(args.web_config_file)
        except WebConfigError as err:
            _print_problems(err)
            return EXIT_CONFIG
        print(f"{args.web_config_file}: OK")
    modules = sum(1 for t in config.targets for m in t.modules.values() if m.enabled)
    print(f"{args.config_file}: OK ({len(config.targets)} target(s), {modules} enabled probe(s))")
    if config.device is not None:
        print(f"device identity {config.device.identity.device_id} from {config.device.identity_file}; "
              f"device tokens in {config.device.token_file}")
    return EXIT_OK


def _select(config: Config, target: str | None, module: str | None):
    for t in config.targets:
        if target and t.name != target:
            continue
        for m in t.modules.values():
            if (module and m.name == module) or (not module and m.enabled):
                yield t, m


def format_table(outcomes: list[ProbeOutcome]) -> str:
    rows = [("TARGET", "MODULE", "RESULT", "TOTAL", "PHASES", "MESSAGE")]
    for o in outcomes:
        phases = " ".join(f"{k}={v * 1000:.1f}ms" for k, v in o.phases.items() if k != "total")
        rows.append((o.target, o.module, o.result, f"{o.phases.get('total', 0) * 1000:.1f}ms", phases or "-", o.message))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:5])) + "  " + r[5] for r in rows
    )


async def _probe_all(config: Config, target: str | None, module: str | None, redactor: Redactor) -> list[ProbeOutcome]:
    import asyncio

    from exporter.http_client import make_session
    from exporter.probes.prober_state import ProberState
    from exporter.runner import run_probe

    jobs = list(_select(config, target, module))
    session = make_session()
    prober_state = ProberState()
    # What `run` learnt about tokens, and the reverse.
    prober_state.use_auth_file(config.slo_state_file)
    try:
        return list(await asyncio.gather(*(run_probe(t, m, redactor, session, prober_state) for t, m in jobs)))
    finally:
        await session.close()
        await prober_state.aclose()


def cmd_probe(args: argparse.Namespace) -> int:
    import json

    from exporter.config import ConfigError, load_config
    from exporter.logs import setup_logging
    from exporter.secrets import Redactor

    redactor = Redactor()
    setup_logging(redactor, args.log_level, "logfmt")
    try:
        config = load_config(args.config_file)
    except ConfigError as err:
        _print_problems(err)
        return EXIT_CONFIG
    if args.target and config.target(args.target) is None:
        print(f"unknown target {args.target!r} (targets: {', '.join(t.name for t in config.targets)})", file=sys.stderr)
        return EXIT_CONFIG
    from exporter import event_loop

    outcomes = event_loop.run(_probe_all(config, args.target, args.module, redactor))
    if not outcomes:
        print("nothing to probe: no enabled module matches", file=sys.stderr)
        return EXIT_CONFIG
    if args.json:
        print(json.dumps([
            {"target": o.target, "module": o.module, "result": o.result, "message": o.message,
             "phases_seconds": o.phases, "timeout_phase": o.timeout_phase,
             "gauges": [{"name": g.name, "labels": dict(g.labels), "value": g.value} for g in o.gauges]}
            for o in outcomes], indent=2))
    else:
        print(format_table(outcomes))
    return EXIT_OK if all(o.success for o in outcomes) else EXIT_PROBE_FAILED


def cmd_device_init(args: argparse.Namespace) -> int:
    """Generate the exporter's device identity (Ed25519) into a new 0600 file; print only public facts."""
    from exporter.device import init_identity

    try:
        identity = init_identity(args.out, overwrite=args.force)
    except FileExistsError:
        print(f"{args.out}: already exists; a new key is a new device that must be approved again "
              "(pass --force to replace it)", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"{args.out}: cannot write the device identity: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"wrote device identity {args.out} (mode 0600; it holds the private key: keep it in a Secret)")
    print(f"device id:  {identity.device_id}")
    print(f"public key: {identity.public_key}")
    print("next: set device.identity_file in the exporter config; the first probe reports pairing_required "
          "with the command that approves it (`openclaw devices approve <requestId>` on the gateway)")
    return EXIT_OK


def settle_heap() -> None:
    """Move what start-up (or a reload) allocated for good (modules, the config and its
    validators) out of the garbage collector's sight: a full collection then scans only the
    probe state, not ~50,000 start-up objects (a 14-56 ms pause, each one a /metrics scrape or a
    probe waiting for the loop)."""
    import gc

    gc.unfreeze()
    gc.collect()
    gc.freeze()


async def serve(exporter: Exporter, listen: str, stop: asyncio.Event, enable_lifecycle: bool = False,
                web_config: WebConfig | None = None) -> None:
    from aiohttp import web

    from exporter.web import make_app

    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(make_app(exporter, enable_lifecycle, web_config), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host.strip("[]") or "0.0.0.0", int(port),
                       ssl_context=web_config.ssl_context if web_config else None)
    await site.start()
    from exporter import event_loop

    settle_heap()

    log.info("listening", extra={"address": listen, "version": __version__, "event_loop": event_loop.running_loop_name()})
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await exporter.close()
        await runner.cleanup()


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from exporter import event_loop
    from exporter.app import Exporter
    from exporter.settings.resolved import ConfigError
    from exporter.logs import setup_logging
    from exporter.secrets import Redactor
    from exporter.web_config import WebConfigError, load_web_config

    redactor = Redactor()
    setup_logging(redactor, args.log_level, args.log_format)
    web_config = None
    if args.web_config_file:
        try:
            web_config = load_web_config(args.web_config_file)
        except WebConfigError as err:
            _print_problems(err)
            return EXIT_CONFIG
    exporter = Exporter(args.config_file, redactor)

    async def main() -> int:
        try:
            await exporter.start()
        except ConfigError as err:
            _print_problems(err)
            return EXIT_CONFIG
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task] = set()

        def on_sighup() -> None:
            # Exporter.reload reports every failure itself; keep the task referenced until done.
            task = asyncio.ensure_future(exporter.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
        try:
            await serve(exporter, args.listen_address, stop, args.enable_lifecycle, web_config)
        except OSError as exc:
            log.error("cannot listen", extra={"address": args.listen_address, "error": str(exc)})
            await exporter.close()
            return EXIT_CONFIG
        return EXIT_OK

    return event_loop.run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openclaw-exporter", description="Probe an OpenClaw gateway and export SLO metrics.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config.file", dest="config_file", required=True, help="exporter config (YAML)")

    run = sub.add_parser("run", help="run the exporter")
    with_config(run)
    run.add_argument("--web.listen-address", dest="listen_address", default=":9879", help="host:port to serve on (default :9879)")
    run.add_argument("--web.config.file", dest="web_config_file", default="",
                     help="TLS and basic auth for every endpoint (exporter-toolkit web config format)")
    run.add_argument("--web.enable-lifecycle", dest="enable_lifecycle", action="store_true",
                     help="enable POST /-/reload (off by default, like Prometheus; SIGHUP always reloads)")
    run.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warning", "error"])
    run.add_argument("--log.format", dest="log_format", default="logfmt", choices=["logfmt", "json"])
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="validate a config file and list every problem")
    with_config(check)
    check.add_argument("--web.config.file", dest="web_config_file", default="", help="also validate this web config file")
    check.set_defaults(func=cmd_check)

    probe = sub.add_parser("probe", help="run each probe once and print the results")
    with_config(probe)
    probe.add_argument("--target", help="only this target")
    probe.add_argument("--module", choices=list(Module), help="only this module (also when disabled in the config)")
    probe.add_argument("--json", action="store_true", help="print JSON instead of a table")
    probe.add_argument("--log.level", dest="log_level", default="warning", choices=["debug", "info", "warning", "error"])
    probe.set_defaults(func=cmd_probe)

    device = sub.add_parser("device", help="the exporter's device identity for gateway pairing")
    device_sub = device.add_subparsers(dest="device_command", required=True)
    init = device_sub.add_parser("init", help="generate an Ed25519 device identity file (mode 0600)")
    init.add_argument("--out", required=True, help="file to create (JSON with the private key; refuses to replace one)")
    init.add_argument("--force", action="store_true", help="replace an existing file (the new key must be approved again)")
    init.set_defaults(func=cmd_device_init)

    for name, help_text in GENERATORS.items():
        # Named here only: its arguments are parsed by generator_parser when the command runs.
        sub.add_parser(name, help=help_text, add_help=False).set_defaults(func=None)
    return parser


def generator_parser(name: str) -> argparse.ArgumentParser:
    """The full parser of a generator command: the one place the runtime's CLI imports a
    generator, when that command runs (tests/test_architecture.py allows only this)."""
    parser = argparse.ArgumentParser(prog=f"openclaw-exporter {name}", description=GENERATORS[name])
    if name == "slo":
        from slo import cli as slo_cli

        slo_cli.add_commands(parser.add_subparsers(dest=f"{name}_command", required=True))
    else:
        from mixin import cli as generate_cli

        def config_schema() -> dict[Path, str]:
            from exporter.settings import schema

            return {Path("exporter") / "config.schema.json": schema.render()}

        generate_cli.add_arguments(parser, config_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in GENERATORS:
        args = generator_parser(args.command).parse_args(rest)
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""`python -m siemctl <command>`: the operator's tools, one subcommand each."""

import argparse
import os
import sys

from siemctl import dashboards, demo, doctor, envfile, grafana_push


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="siemctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dashboards", help="regenerate grafana/dashboards/*.json from siemctl/dashboards.py")
    commands.add_parser("env", help="create .env from .env.example with random passwords (never overwrites)")
    push = commands.add_parser("grafana-push", help="install data source and dashboards into an existing Grafana")
    push.add_argument("--url", required=True, help="Grafana's address, e.g. http://nas.local:3000")
    push.add_argument("--dry-run", action="store_true", help="only say what would change")
    doctor_cmd = commands.add_parser("doctor", help="check API, Grafana and a syslog round trip; hints for what fails")
    doctor_cmd.add_argument("--api", default="http://127.0.0.1:8000")
    doctor_cmd.add_argument("--grafana", default="http://127.0.0.1:3000")
    doctor_cmd.add_argument("--collector", default="127.0.0.1:5514", help="host:port of the syslog receiver")
    demo_cmd = commands.add_parser("demo", help="replay a generated day of home-network logs into the collector")
    demo_cmd.add_argument("--collector", default="127.0.0.1:5514", help="host:port of the syslog receiver")
    demo_cmd.add_argument("--count", type=int, default=20000)
    demo_cmd.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.command == "doctor":
        host, _, port = args.collector.rpartition(":")
        token = os.environ.get("SIEM_API_TOKEN", "")
        password = os.environ.get("GRAFANA_ADMIN_PASSWORD", "")
        return doctor.run([
            doctor.check_api(args.api, token),
            doctor.check_syslog(args.api, token, host, int(port)),
            doctor.check_grafana(args.grafana, "admin", password),
        ])  # fmt: skip
    if args.command == "demo":
        host, _, port = args.collector.rpartition(":")
        lines = demo.day(args.count, args.seed)
        print(f"replaying {len(lines)} messages of the last 24 h into {args.collector}", file=sys.stderr)
        try:
            demo.replay(lines, host, int(port))
        except OSError as error:
            print(
                f"\ndemo: cannot send to {args.collector} ({error.strerror or error}): is the collector running?"
                " (`docker compose ps`; the syslog port is 5514)",
                file=sys.stderr,
            )
            return 1
        return 0
    if args.command == "dashboards":
        for path in dashboards.write():
            print(f"wrote {path}")
        return 0
    if args.command == "env":
        created = envfile.create()
        print("created .env with random passwords: keep it safe" if created else ".env exists; left as it is")
        return 0
    return _grafana_push(args.url, args.dry_run)


def _grafana_push(url: str, dry_run: bool) -> int:
    """Run grafana-push with the token from GRAFANA_TOKEN (a service account token with Editor rights)."""
    token = os.environ.get("GRAFANA_TOKEN", "")
    if not token:
        print("siemctl: set GRAFANA_TOKEN to a Grafana service account token (Editor role)", file=sys.stderr)
        return 2
    if not os.environ.get("SIEM_READER_PASSWORD"):
        print("siemctl: set SIEM_READER_PASSWORD (and SIEM_DB_HOST as Grafana reaches MariaDB)", file=sys.stderr)
        return 2
    try:
        actions = grafana_push.push(url, token, dry_run=dry_run)
    except Exception as error:  # any failure talking to Grafana ends the command with its reason
        print(f"siemctl: Grafana at {url} said: {error}", file=sys.stderr)
        return 1
    for action in actions:
        print(f"{'would ' if dry_run else ''}{action.kind} {action.uid} ({action.reason})")
    if not actions:
        print("nothing to do: Grafana already has the current data source and dashboards")
    return 0


if __name__ == "__main__":
    sys.exit(main())

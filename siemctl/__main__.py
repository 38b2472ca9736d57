"""`python -m siemctl <command>`: the operator's tools, one subcommand each."""

import argparse
import sys

from siemctl import dashboards


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="siemctl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("dashboards", help="regenerate grafana/dashboards/*.json from siemctl/dashboards.py")
    args = parser.parse_args(argv)
    if args.command == "dashboards":
        for path in dashboards.write():
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m api`: serve the API with uvicorn on SIEM_API_HOST:SIEM_API_PORT (default 0.0.0.0:8000)."""

import os
import sys

import uvicorn


def main() -> int:
    """Run uvicorn without access logs of tokens and without telemetry of any kind."""
    host = os.environ.get("SIEM_API_HOST", "0.0.0.0")
    port = os.environ.get("SIEM_API_PORT", "8000")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        print(f"api: configuration error: SIEM_API_PORT={port!r} is not a port number", file=sys.stderr)
        return 2
    uvicorn.run("api.main:app", host=host, port=int(port), proxy_headers=False, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

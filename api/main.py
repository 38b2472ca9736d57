"""The FastAPI application: open health check, token-protected data routes under /api/v1."""

import logging
import sys

from fastapi import APIRouter, Depends, FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError

from api.deps import require_token
from api.routes import devices, dns, drops, health, messages, stats
from api.settings import get_settings

DESCRIPTION = """Read-only summaries of what SIEM@Home collected, for scripts.
Every `/api/v1` route needs `Authorization: Bearer <SIEM_API_TOKEN>`.
Times are UTC; `since`/`until` take ISO 8601 or relative values (`15m`, `24h`, `7d`)."""


def create_app() -> FastAPI:
    """Build the app; exit with a clear message if the settings are unusable."""
    try:
        get_settings()
    except ValidationError as error:
        problems = "; ".join(f"SIEM_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        print(f"api: configuration error: {problems}", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # fastapi-offline serves Swagger UI and ReDoc from the package itself: opening /docs fetches no CDN.
    app = FastAPIOffline(title="SIEM@Home API", version="1.0.0", description=DESCRIPTION)
    app.include_router(health.router)
    v1 = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])
    for module in (stats, drops, devices, dns, messages):
        v1.include_router(module.router)
    app.include_router(v1)
    return app


app = create_app()

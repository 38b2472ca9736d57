"""Open liveness check, also used by the container healthcheck."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.db import DatabaseProblem, SettingsDep, connect, query
from api.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def health(settings: SettingsDep) -> Health | JSONResponse:
    """Report whether the API runs and MariaDB answers, and if not why; no token needed."""
    try:
        connection = connect(settings, settings.db_user, settings.db_password.get_secret_value())
        try:
            query(connection, "SELECT 1")
        finally:
            connection.close()
    except DatabaseProblem as problem:
        return JSONResponse(Health(status="degraded", database=problem.state).model_dump(), status_code=503)
    except Exception:  # any other failure to reach the database is the answer, not an error
        return JSONResponse(Health(status="degraded", database="unreachable").model_dump(), status_code=503)
    return Health(status="ok", database="reachable")

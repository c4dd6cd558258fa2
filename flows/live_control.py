"""Pausing and resuming the live simulation (the `live-simulation` deployment) through the Prefect API.

Pausing the deployment stops its schedule; `make serve`'s housekeeping drops the paused deployment's scheduled
runs and keeps it paused across deploys. Without a configured Prefect server (`PREFECT_API_URL`) there is no
deployment to pause: `NoPrefectServer` says so.
"""

from __future__ import annotations

DEPLOYMENT = "generate-events/live-simulation"


class NoPrefectServer(RuntimeError):
    """No Prefect server is configured, or it does not know the live-simulation deployment."""


def _client():
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    if get_current_settings().api.url is None:
        raise NoPrefectServer(
            "no Prefect server is configured (PREFECT_API_URL is unset): start one with `make serve` to pause or "
            "resume the live simulation"
        )
    return get_client(sync_client=True)


def _deployment(client):
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(DEPLOYMENT)
    except ObjectNotFound:
        raise NoPrefectServer(f"the Prefect server has no {DEPLOYMENT} deployment: `make serve` deploys it") from None
    except Exception as error:  # an unreachable server: httpx's connection errors
        raise NoPrefectServer(f"the Prefect server does not answer: {error}") from None


def live_paused() -> bool:
    """Whether the live simulation is paused."""
    with _client() as client:
        return bool(_deployment(client).paused)


def set_live_paused(paused: bool) -> bool:
    """Pause or resume the live simulation; returns the new state."""
    with _client() as client:
        deployment = _deployment(client)
        if paused:
            client.pause_deployment(deployment.id)
        else:
            client.resume_deployment(deployment.id)
        return bool(_deployment(client).paused)

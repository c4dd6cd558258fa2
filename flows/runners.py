"""Where a flow's fan-out runs: on an existing Dask cluster when `PULSECAST_DASK_ADDRESS` names its scheduler
(prefect-dask's task runner; the cluster is the operator's, never started or stopped here), else on the flow's
own runner, as before."""

from __future__ import annotations

from prefect.task_runners import TaskRunner

from pulsecast.settings import Settings, get_settings


def fan_out(default: TaskRunner, settings: Settings | None = None) -> TaskRunner:
    """A `DaskTaskRunner` on the configured cluster, or `default`."""
    address = (settings or get_settings()).dask_address
    if not address:
        return default
    from prefect_dask import DaskTaskRunner

    return DaskTaskRunner(address=address)

"""`pulsecast api`: the read API over HTTP for dashboards, scoped per API key, audited and rate limited.

An entry point beside the CLI: it reads the published snapshots through `pulsecast.metrics.api.Metrics`, never
the warehouse or raw events.
"""

"""The campaign-world generator: believable marketing events with the ground truth behind them.

`generate_backfill` writes history, `generate_live` continues the world in micro-batches; both land files
the ingestion routes by name prefix and write what really happened into a separate truth directory.
`generate` is either, into the configured data folder.
"""

from pulsecast.generator.config import GenerationMode, GenerationReport, WorldConfig
from pulsecast.generator.simulation import generate, generate_backfill, generate_live

__all__ = ["GenerationMode", "GenerationReport", "WorldConfig", "generate", "generate_backfill", "generate_live"]

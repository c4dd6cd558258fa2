"""What a `decide` run does; every field shows up as a typed parameter in the Prefect UI's run form."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DecideConfig(BaseModel):
    campaigns: list[str] = Field(
        default_factory=list, description="Campaign ids to look at; empty: every campaign with a forecast."
    )
    horizon: int = Field(
        default=14,
        ge=1,
        le=90,
        description="Days ahead for the horizon scenarios (past the forecast horizon the spread is extrapolated).",
    )
    bound: float = Field(
        default=0.3,
        ge=0,
        lt=1,
        description="Budget pivots move each line's daily spend by at most this share of its current spend.",
    )
    llm: bool = Field(
        default=True, description="Write insights with OpenAI when a key is configured; off: the rule-based writer."
    )

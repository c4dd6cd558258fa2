"""What a what-if asks; every field shows up as a typed parameter in the Prefect UI's run form (kept apart from
the model so the CLI builds one without importing scipy)."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, field_validator


class SimulationRequest(BaseModel):
    """A what-if; every field shows up as a typed parameter in the Prefect UI's run form."""

    campaign: str = Field(min_length=1, description="Campaign id.")
    budget: dict[str, float] = Field(
        default_factory=dict,
        description="Change of a channel's daily budget in percent (search: 20 is +20 %, display: -20; -100 stops "
        "it); channels not named keep their current spend.",
    )
    creative_refresh: bool = Field(default=False, description="Refresh every live creative on the first day.")
    audience: float = Field(
        default=0.0, gt=-100, description="Change of the audience pool in percent (25: a quarter larger)."
    )
    horizon: int = Field(
        default=28, ge=1, le=90, description="Days simulated, from the day after the last complete day."
    )

    @field_validator("budget")
    @classmethod
    def _not_below_zero(cls, budget: dict[str, float]) -> dict[str, float]:
        for channel, change in budget.items():
            if not change >= -100:
                raise ValueError(f"the budget change for {channel} is {change:+g} %, which puts its budget below "
                                 "zero (-100 % stops the channel)")
        return budget

    def key(self) -> str:
        """The request as canonical JSON: equal requests, equal keys."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

"""Three to five insights per campaign, from OpenAI's structured output when a key is set, else from rules.

Either way the insights rest on the facts the lead builds from the other outputs, and `grounding` drops any
insight quoting a number that is not among them. The LLM is optional in every sense: a cached answer is reused
for the same facts, and any error, timeout or malformed answer falls back to the deterministic writer, so a
`decide` run never fails or waits long because of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field, ValidationError

from pulsecast.ml.outlook.grounding import Allowed, Fact, display, ungrounded
from pulsecast.settings import Settings

__all__ = ["COLUMNS", "Fact", "Insight", "InsightLog", "InsightSet", "rule_insights", "write_insights"]

log = logging.getLogger(__name__)

PROMPT_VERSION = "insights-v1"
MIN_INSIGHTS, MAX_INSIGHTS = 3, 5

COLUMNS: dict[str, tuple[str, str]] = {
    "run_id": ("VARCHAR", "The decide run that wrote the insight."),
    "campaign_id": ("VARCHAR", "Campaign the insight is about."),
    "rank": ("INTEGER", "Order of importance within the campaign, 1 first."),
    "key": ("VARCHAR", "Short title of the insight."),
    "value": ("VARCHAR", "The insight: one sentence quoting only figures from its evidence facts."),
    "metric": ("VARCHAR", "Metric the insight is about (conversions, spend, ctr, ...)."),
    "trend": ("VARCHAR", "Direction for the campaign: up, down or neutral."),
    "evidence": ("VARCHAR", "JSON list of the fact keys the insight rests on."),
    "source": ("VARCHAR", "Who wrote it: 'openai' (structured output, grounding-checked) or 'rules'."),
    "model": ("VARCHAR", "OpenAI model for source 'openai'; null for rules."),
    "facts_fingerprint": ("VARCHAR", "SHA-256 of the facts the insight was written from (same facts, same hash)."),
    "created_at": ("TIMESTAMP", "When the insight was written (UTC)."),
}


class Insight(BaseModel):
    key: str = Field(description="Short title, at most six words.")
    value: str = Field(description="One sentence quoting figures exactly as the facts display them.")
    metric: str = Field(description="The metric the insight is about.")
    trend: Literal["up", "down", "neutral"] = Field(description="Whether this is good (up), bad (down) or neither.")
    evidence: list[str] = Field(description="Keys of the facts used.")


class InsightSet(BaseModel):
    insights: list[Insight]


@dataclass
class InsightLog:
    """What a run did: insights by source, and every insight dropped or campaign fallen back, with why."""

    llm: int = 0
    cached: int = 0
    rules: int = 0
    dropped: list[dict[str, str]] = field(default_factory=list)
    fallbacks: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"Insights: {self.llm} from the LLM, {self.cached} from its cache, {self.rules} by the rule-based writer; "
            f"{len(self.dropped)} dropped as ungrounded, {len(self.fallbacks)} campaign(s) fell back to the rules."
        )


# --- the deterministic writer ---------------------------------------------------------------------------------

# Topics by key prefix, most important first: will it make its goal, what is going wrong, where it may land,
# how it compares with its market. A fact outside these comes last.
_TOPICS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Goal outlook", ("goal", "pace", "conversions_to_date"), "goal"),
    ("Open risk", ("risk",), "risk"),
    ("Scenarios", ("scenario",), "scenario"),
    ("Benchmark gap", ("benchmark",), "benchmark"),
)


def _topic(fact: Fact) -> int:
    return next((i for i, (_, prefixes, _) in enumerate(_TOPICS) if fact.key.startswith(prefixes)), len(_TOPICS))


def _trend(facts: Sequence[Fact]) -> Literal["up", "down", "neutral"]:
    """Goal probabilities read as good above one half; risks as bad; a signed gap by its sign."""
    for fact in facts:
        if fact.key.startswith("risk"):
            return "down"
        if fact.unit == "probability" and isinstance(fact.value, int | float):
            return "up" if fact.value >= 0.5 else "down"
        if "gap" in fact.key and isinstance(fact.value, int | float) and fact.value:
            return "up" if fact.value > 0 else "down"
    return "neutral"


def _sentence(facts: Sequence[Fact]) -> str:
    first, *rest = facts
    head = f"{first.label}{':' if first.unit == 'text' else ' is'} {display(first)}"
    tail = "".join(f"; {fact.label.lower()} {display(fact)}" for fact in rest)
    return f"{head.rstrip('.')}{tail}."


def _insight(title: str, facts: Sequence[Fact]) -> Insight:
    return Insight(
        key=title,
        value=_sentence(facts),
        metric=facts[0].metric,
        trend=_trend(facts),
        evidence=[fact.key for fact in facts],
    )


def rule_insights(facts: Sequence[Fact]) -> list[Insight]:
    """3-5 insights, most important first: one per topic (each open risk on its own), then lone facts.

    Every figure is the fact's own `display`, so the output always passes the grounding check."""
    ordered = sorted(facts, key=_topic)
    grouped: list[Insight] = []
    for index, (title, _, _) in enumerate(_TOPICS):
        members = [fact for fact in ordered if _topic(fact) == index]
        if title == "Open risk":
            grouped.extend(_insight(title, [fact]) for fact in members)
        elif members:
            grouped.append(_insight(title, members[:4]))
    grouped.extend(_insight(fact.label, [fact]) for fact in ordered if _topic(fact) == len(_TOPICS))
    if len(grouped) < MIN_INSIGHTS:  # too few topics: one insight per fact instead
        grouped = [_insight(fact.label, [fact]) for fact in ordered]
    return grouped[:MAX_INSIGHTS]


# --- the LLM writer -------------------------------------------------------------------------------------------

_SYSTEM = f"""You write {MIN_INSIGHTS} to {MAX_INSIGHTS} insights for a campaign manager about one advertising campaign.
Use only the facts given. Quote every figure exactly as its "display" field shows it (dates as YYYY-MM-DD);
never compute, round differently or add a number that is not a fact's display. Put the most important first:
probability of reaching the goal, open risks, scenarios, the gap to the benchmark. `evidence` lists the keys
of the facts each insight uses. `trend` is up when the insight is good news for the campaign, down when bad."""


def _payload(campaign_id: str, facts: Sequence[Fact]) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "facts": [{**asdict(fact), "value": str(fact.value), "display": display(fact)} for fact in facts],
    }


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _client(settings: Settings, http_client: Any) -> Any:
    import openai

    assert settings.openai_api_key is not None
    return openai.OpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_s,
        max_retries=1,
        http_client=http_client,
    )


def _ask(client: Any, model: str, payload: dict[str, Any]) -> InsightSet:
    completion = client.chat.completions.parse(
        model=model,
        messages=[{"role": "system", "content": _SYSTEM}, {"role": "user", "content": json.dumps(payload)}],
        response_format=InsightSet,
        temperature=0,
    )
    parsed = completion.choices[0].message.parsed
    if parsed is None:
        raise ValueError("the answer held no insights (refusal or empty content)")
    return parsed


def _grounded(
    campaign_id: str, facts: Sequence[Fact], insights: Sequence[Insight], run_log: InsightLog
) -> list[Insight]:
    """The insights whose figures and evidence all come from `facts`; each other one is logged and dropped."""
    allowed, keys = Allowed.of(facts), {fact.key for fact in facts}
    kept = []
    for insight in insights:
        unknown = [key for key in insight.evidence if key not in keys]
        strays = ungrounded(f"{insight.key}\n{insight.value}", allowed)
        if unknown or strays or not insight.evidence:
            reason = (
                f"cites {', '.join(strays)} (not in the facts)"
                if strays
                else f"unknown evidence {unknown}"
                if unknown
                else "no evidence"
            )
            log.warning("Insight dropped for campaign %s: %r %s", campaign_id, insight.key, reason)
            run_log.dropped.append({"campaign_id": campaign_id, "key": insight.key, "reason": reason})
        else:
            kept.append(insight)
    return kept


def _safe(error: Exception, settings: Settings) -> str:
    """The error in one line, with the key blanked should an error message ever carry it."""
    text = f"{type(error).__name__}: {error}".splitlines()[0][:200]
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return text.replace(key, "***") if key else text


def write_insights(
    facts: Mapping[str, Sequence[Fact]], settings: Settings, *, use_llm: bool = True, http_client: Any = None
) -> tuple[pd.DataFrame, InsightLog]:
    """Rows of `ml.insights` (in COLUMNS order, run_id left empty) for each campaign's facts, and the run's log.

    OpenAI is asked once per campaign whose facts have no cached answer; after a timeout or connection error
    it is not asked again in this run, so a dead endpoint costs one request and its one retry."""
    import openai

    run_log = InsightLog()
    cache_dir = settings.data_dir.resolve() / "insights_cache"
    llm_on = use_llm and settings.openai_api_key is not None
    client = _client(settings, http_client) if llm_on else None
    now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    rows = []
    for campaign_id, campaign_facts in facts.items():
        payload = _payload(campaign_id, campaign_facts)
        facts_fingerprint = _digest(payload)
        chosen: list[tuple[Insight, str]] = []
        if client is not None:
            cache_file = cache_dir / f"{_digest([PROMPT_VERSION, settings.openai_model, facts_fingerprint])}.json"
            try:
                answer, cached = _cached_or_asked(cache_file, client, settings.openai_model, payload)
                kept = _grounded(campaign_id, campaign_facts, answer.insights[:MAX_INSIGHTS], run_log)
                chosen = [(insight, "openai") for insight in kept]
                if cached:
                    run_log.cached += len(chosen)
                else:
                    run_log.llm += len(chosen)
            except Exception as error:  # never fail because of the LLM: fall back to the rules below
                reason = _safe(error, settings)
                log.warning("Insights for campaign %s from rules: the LLM failed (%s)", campaign_id, reason)
                run_log.fallbacks[campaign_id] = reason
                if isinstance(error, openai.APITimeoutError | openai.APIConnectionError):
                    client = None
        titles = {insight.key for insight, _ in chosen}
        target = MIN_INSIGHTS if chosen else MAX_INSIGHTS  # the rules top up a thin LLM answer, or write all
        for insight in rule_insights(campaign_facts):
            if len(chosen) >= target:
                break
            if insight.key not in titles:
                chosen.append((insight, "rules"))
                run_log.rules += 1
        for rank, (insight, source) in enumerate(chosen, start=1):
            rows.append(
                {
                    "run_id": "",
                    "campaign_id": campaign_id,
                    "rank": rank,
                    "key": insight.key,
                    "value": insight.value,
                    "metric": insight.metric,
                    "trend": insight.trend,
                    "evidence": json.dumps(insight.evidence),
                    "source": source,
                    "model": settings.openai_model if source == "openai" else None,
                    "facts_fingerprint": facts_fingerprint,
                    "created_at": now,
                }
            )
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype({"rank": "int32"})
    return frame, run_log


def _cached_or_asked(cache_file: Path, client: Any, model: str, payload: dict[str, Any]) -> tuple[InsightSet, bool]:
    """The stored answer for these facts, model and prompt, or a fresh one (then stored)."""
    if cache_file.exists():
        try:
            return InsightSet.model_validate_json(cache_file.read_text()), True
        except ValidationError:
            cache_file.unlink()  # a damaged entry is asked again
    answer = _ask(client, model, payload)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(answer.model_dump_json(indent=1))
    return answer, False

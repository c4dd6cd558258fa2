"""Insights: OpenAI faked at the HTTP level (an httpx2 mock transport under the SDK), cache, fallbacks, grounding."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date

import httpx2
import openai
import pytest
from pydantic import SecretStr

from pulsecast.ml.outlook.grounding import Allowed, ungrounded
from pulsecast.ml.outlook.insights import COLUMNS, Fact, rule_insights, write_insights
from pulsecast.settings import Settings

KEY = "sk-test-secret-key-1234567890"
FACTS = [
    Fact("goal_probability", "Probability of reaching the goal", 0.72, "conversions", "probability"),
    Fact("goal_conversions", "Goal", 500, "conversions", "count"),
    Fact("goal_date_p50", "Median date the goal is reached", date(2026, 11, 10), "conversions", "date"),
    Fact("risk_creative_fatigue", "Creative fatigue on cr_12", "CTR of cr_12 fell 31% over 9 days.", "ctr", "text"),
    Fact("scenario_realistic_conversions", "Realistic conversions by the end date", 480.4, "conversions", "count"),
    Fact("benchmark_ctr_gap", "CTR gap to the channel benchmark", -0.123, "ctr", "share"),
    Fact("spend_to_date", "Spend to date", 1234.5, "spend", "money"),
]
GOOD = [
    {
        "key": "Goal likely",
        "value": "A 72% chance of 500 conversions, reached around 2026-11-10.",
        "metric": "conversions",
        "trend": "up",
        "evidence": ["goal_probability", "goal_conversions", "goal_date_p50"],
    },
    {
        "key": "Creative tiring",
        "value": "CTR of cr_12 fell 31% over 9 days.",
        "metric": "ctr",
        "trend": "down",
        "evidence": ["risk_creative_fatigue"],
    },
    {
        "key": "Below benchmark",
        "value": "CTR is 12% below the channel benchmark after 1.2k spent.",
        "metric": "ctr",
        "trend": "down",
        "evidence": ["benchmark_ctr_gap", "spend_to_date"],
    },
]
INVENTED = {
    "key": "Big upside",
    "value": "Conversions could grow 45% next week.",
    "metric": "conversions",
    "trend": "up",
    "evidence": ["scenario_realistic_conversions"],
}


def completion(insights: list[dict] | None, content: str | None = None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content or json.dumps({"insights": insights})},
            }
        ],
    }


class Endpoint:
    """A fake OpenAI: answers every request with `respond(request)` and keeps the requests."""

    def __init__(self, respond: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.requests: list[httpx2.Request] = []
        self.respond = respond

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.respond(request)

    def client(self) -> httpx2.Client:
        return openai.DefaultHttpxClient(transport=httpx2.MockTransport(self))


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    return settings.model_copy(update={"openai_api_key": SecretStr(KEY), "openai_timeout_s": 2.0})


def test_llm_insights_are_parsed_grounded_and_stored(keyed: Settings) -> None:
    endpoint = Endpoint(lambda request: httpx2.Response(200, json=completion(GOOD)))
    frame, run_log = write_insights({"c1": FACTS}, keyed, http_client=endpoint.client())

    assert list(frame.columns) == list(COLUMNS)
    assert frame["source"].tolist() == ["openai"] * 3
    assert frame["key"].tolist() == ["Goal likely", "Creative tiring", "Below benchmark"]
    assert frame["rank"].tolist() == [1, 2, 3]
    assert json.loads(frame["evidence"].iloc[0]) == GOOD[0]["evidence"]
    assert frame["model"].iloc[0] == "gpt-4o-mini"
    assert (run_log.llm, run_log.cached, run_log.rules) == (3, 0, 0)
    sent = json.loads(endpoint.requests[0].content)
    assert sent["model"] == "gpt-4o-mini"
    assert sent["response_format"]["type"] == "json_schema"
    assert "72%" in sent["messages"][1]["content"]  # the facts go with the display the text must copy
    assert endpoint.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_same_facts_are_answered_from_the_cache(keyed: Settings) -> None:
    endpoint = Endpoint(lambda request: httpx2.Response(200, json=completion(GOOD)))
    first, _ = write_insights({"c1": FACTS}, keyed, http_client=endpoint.client())
    second, run_log = write_insights({"c1": FACTS}, keyed, http_client=endpoint.client())

    assert len(endpoint.requests) == 1
    assert (run_log.llm, run_log.cached) == (0, 3)
    assert second["value"].tolist() == first["value"].tolist()
    assert second["facts_fingerprint"].tolist() == first["facts_fingerprint"].tolist()

    changed = [*FACTS[:-1], Fact("spend_to_date", "Spend to date", 2000.0, "spend", "money")]
    write_insights({"c1": changed}, keyed, http_client=endpoint.client())
    assert len(endpoint.requests) == 2


def _raise_timeout(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(
    ("respond", "reason"),
    [
        (lambda request: httpx2.Response(500, json={"error": {"message": "boom"}}), "InternalServerError"),
        (lambda request: httpx2.Response(200, json=completion(None, content='{"insights": [{"key": 1}]}')), "Valid"),
        (lambda request: httpx2.Response(200, json=completion(None, content="not json")), "Valid"),
        (_raise_timeout, "APITimeoutError"),
    ],
    ids=["http-500", "wrong-shape", "not-json", "timeout"],
)
def test_llm_failure_falls_back_to_the_rules(keyed: Settings, respond: Callable, reason: str) -> None:
    endpoint = Endpoint(respond)
    frame, run_log = write_insights({"c1": FACTS, "c2": FACTS[:4]}, keyed, http_client=endpoint.client())

    assert set(frame["source"]) == {"rules"}
    assert frame.groupby("campaign_id").size().between(3, 5).all()
    assert reason in run_log.fallbacks["c1"]
    assert frame[frame["campaign_id"] == "c1"]["value"].tolist() == [i.value for i in rule_insights(FACTS)]
    if reason == "APITimeoutError":  # a dead endpoint is not asked again in the same run
        assert "c2" not in run_log.fallbacks
        assert len(endpoint.requests) == 2  # the request and its one retry


def test_an_invented_number_is_dropped_and_logged(keyed: Settings, caplog: pytest.LogCaptureFixture) -> None:
    unknown_key = {**GOOD[1], "key": "Odd evidence", "evidence": ["made_up_fact"]}
    endpoint = Endpoint(lambda request: httpx2.Response(200, json=completion([*GOOD, INVENTED, unknown_key])))
    with caplog.at_level(logging.WARNING):
        frame, run_log = write_insights({"c1": FACTS}, keyed, http_client=endpoint.client())

    assert frame["key"].tolist() == ["Goal likely", "Creative tiring", "Below benchmark"]
    assert [(d["key"], d["campaign_id"]) for d in run_log.dropped] == [("Big upside", "c1"), ("Odd evidence", "c1")]
    assert "45%" in run_log.dropped[0]["reason"]
    assert any("c1" in r.getMessage() and "45%" in r.getMessage() for r in caplog.records)


def test_a_thin_llm_answer_is_topped_up_by_the_rules(keyed: Settings) -> None:
    endpoint = Endpoint(lambda request: httpx2.Response(200, json=completion([GOOD[0], INVENTED])))
    frame, _ = write_insights({"c1": FACTS}, keyed, http_client=endpoint.client())

    assert frame["source"].tolist() == ["openai", "rules", "rules"]


def test_the_key_never_reaches_the_logs(keyed: Settings, caplog: pytest.LogCaptureFixture) -> None:
    def respond(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(401, json={"error": {"message": f"Incorrect API key provided: {KEY}"}})

    with caplog.at_level(logging.DEBUG):
        frame, run_log = write_insights({"c1": FACTS}, keyed, http_client=Endpoint(respond).client())
        write_insights({"c2": FACTS}, keyed, http_client=Endpoint(_raise_timeout).client())

    assert set(frame["source"]) == {"rules"}
    assert "***" in run_log.fallbacks["c1"]
    assert KEY not in caplog.text
    assert all(KEY not in str(r.args) for r in caplog.records)


def test_no_key_or_llm_off_sends_nothing(settings: Settings, keyed: Settings) -> None:
    endpoint = Endpoint(lambda request: httpx2.Response(200, json=completion(GOOD)))
    keyless = settings.model_copy(update={"openai_api_key": None})  # whatever key the shell running this has
    for run_settings, use_llm in ((keyless, True), (keyed, False)):
        frame, run_log = write_insights({"c1": FACTS}, run_settings, use_llm=use_llm, http_client=endpoint.client())
        assert set(frame["source"]) == {"rules"} and run_log.rules == len(frame)
    assert endpoint.requests == []


def test_the_rule_writer_for_a_fixed_fact_set() -> None:
    written = rule_insights(FACTS)

    assert [(i.key, i.value, i.trend) for i in written] == [
        (
            "Goal outlook",
            "Probability of reaching the goal is 72%; goal 500; median date the goal is reached 2026-11-10.",
            "up",
        ),
        ("Open risk", "Creative fatigue on cr_12: CTR of cr_12 fell 31% over 9 days.", "down"),
        ("Scenarios", "Realistic conversions by the end date is 480.", "neutral"),
        ("Benchmark gap", "CTR gap to the channel benchmark is -12.3%.", "down"),
        ("Spend to date", "Spend to date is 1,234.50.", "neutral"),
    ]
    assert written[0].evidence == ["goal_probability", "goal_conversions", "goal_date_p50"]
    allowed = Allowed.of(FACTS)
    assert all(ungrounded(f"{i.key} {i.value}", allowed) == [] for i in written)


def test_the_rule_writer_writes_three_from_few_facts() -> None:
    assert len(rule_insights(FACTS[:2])) == 2  # two facts cannot carry three insights
    assert len(rule_insights([FACTS[0], FACTS[1], FACTS[6]])) == 3


@pytest.mark.parametrize(
    ("text", "strays"),
    [
        ("A 72% chance; 70% is rounded too far.", ["70%"]),
        ("Spent 1,234.50, or 1,235, or 1.2k, but not 1.4k.", ["1.4k"]),
        ("Reached by 2026-11-10, not 2026-11-11.", ["2026-11-11"]),
        ("CTR 12% below benchmark, P90 of 480 conversions.", []),
        ("Up 3 places.", ["3"]),
    ],
)
def test_grounding_accepts_the_forms_writers_use(text: str, strays: list[str]) -> None:
    assert ungrounded(text, Allowed.of(FACTS)) == strays

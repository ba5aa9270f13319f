"""The OpenAI-compatible engine against httpx.MockTransport: success, and every failure falling back offline."""

from __future__ import annotations

import json

import httpx
import pytest

from workbench.engine.base import AnnotationBrief, PersonaBrief, ReviewerEngine, SessionFeedbackBrief, TestSessionBrief
from workbench.engine.factory import engine_from_env
from workbench.engine.http import OpenAICompatibleEngine
from workbench.engine.offline import OfflineEngine

PERSONA = PersonaBrief(slug="lena", name="Lena, low-vision reader", category="accessibility", focus=("contrast", "zoom"), voice="warm")
ANNOTATION = AnnotationBrief(
    id="a1", kind="accessibility", status="new", body="The grey placeholder text has very low contrast on white.",
    page_url="https://shop.example/cart", selector="#search", computed_styles={"color": "#9a9a9a", "background-color": "#fff"},
)
SESSION = TestSessionBrief(
    session_id="s1", variant="B", duration_seconds=540, notes=["Found the checkout quickly", "Coupon field was confusing"],
    feedback=SessionFeedbackBrief(clarity=4, difficulty=2, technical_issues=False),
)


def chat(content: object) -> dict:
    return {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}


def engine(handler, **kw) -> OpenAICompatibleEngine:
    return OpenAICompatibleEngine("http://models.local/v1/", "tiny-model", transport=httpx.MockTransport(handler), **kw)


def test_success_posts_chat_completions_and_names_itself():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=chat("<think>scratch</think>\n**Lena** — raise the contrast.\n\n**Severity: high** — unreadable."))

    e = engine(handler, api_key="sk-test")
    assert isinstance(e, ReviewerEngine)
    result = e.persona_review(PERSONA, ANNOTATION)
    assert result.engine == "openai-compatible:tiny-model" and result.fallback_reason is None
    assert result.text.startswith("**Lena** — raise the contrast.") and "scratch" not in result.text
    (req,) = seen
    assert req.method == "POST" and str(req.url) == "http://models.local/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-test"
    body = json.loads(req.content)
    assert body["model"] == "tiny-model" and [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "Lena, low-vision reader" in body["messages"][0]["content"]
    assert "#9a9a9a" in body["messages"][1]["content"] and ANNOTATION.body in body["messages"][1]["content"]


def test_task_instruction_success():
    e = engine(lambda r: httpx.Response(200, json=chat("Increase the hero heading to 32px on /.")))
    result = e.task_instruction("the heading is too small", "/")
    assert result.text == "Increase the hero heading to 32px on /." and result.engine.startswith("openai-compatible")


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (lambda r: httpx.Response(500, text="boom"), "HTTP 500"),
        (lambda r: httpx.Response(401, json={"error": "bad key"}), "HTTP 401"),
        (lambda r: httpx.Response(200, text="not json {"), "malformed response JSON"),
        (lambda r: httpx.Response(200, json={"choices": []}), "malformed response JSON"),
        (lambda r: httpx.Response(200, json=chat(None)), "not text"),
        (lambda r: httpx.Response(200, json=chat("   ")), "empty response"),
    ],
    ids=["http-500", "http-401", "bad-json", "no-choices", "null-content", "blank-content"],
)
def test_failures_fall_back_to_offline_and_say_so(handler, reason):
    result = engine(handler).persona_review(PERSONA, ANNOTATION)
    offline = OfflineEngine().persona_review(PERSONA, ANNOTATION)
    assert result.text == offline.text
    assert result.engine == "offline"
    assert result.fallback_reason is not None
    assert reason in result.fallback_reason and "openai-compatible:tiny-model" in result.fallback_reason


def test_timeout_falls_back():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow model", request=request)

    result = engine(handler).task_instruction("make the button bigger", "/cart")
    assert result.engine == "offline" and result.fallback_reason is not None and "timed out" in result.fallback_reason
    assert result.text == OfflineEngine().task_instruction("make the button bigger", "/cart").text


def test_connection_refused_falls_back():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = engine(handler).persona_review(PERSONA, ANNOTATION)
    assert result.engine == "offline" and result.fallback_reason is not None and "ConnectError" in result.fallback_reason


def test_real_timeout_against_a_silent_server():
    """A server that accepts but never answers: the configured timeout bounds the wait."""
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        e = OpenAICompatibleEngine(f"http://127.0.0.1:{port}/v1", "m", timeout=0.3)
        started = time.monotonic()
        result = e.task_instruction("fix the typo", "/")
        assert time.monotonic() - started < 5
        e.close()
    assert result.engine == "offline" and result.fallback_reason is not None and "timed out" in result.fallback_reason


def test_session_analysis_parses_fenced_json_and_keeps_measured_minutes():
    answer = (
        '```json\n{"summary": "Smooth run.", "highlights": ["Fast checkout"], "issues": ["Coupon confusing"], '
        '"sentiment": "mixed", "completion_minutes": 99}\n```'
    )
    result = engine(lambda r: httpx.Response(200, json=chat(answer))).analyze_test_session(SESSION)
    assert result.engine == "openai-compatible:tiny-model" and result.fallback_reason is None
    assert result.summary == "Smooth run." and result.issues == ["Coupon confusing"] and result.sentiment == "mixed"
    assert result.completion_minutes == 9.0  # from the brief's 540 s, not the model's 99


@pytest.mark.parametrize(
    "answer",
    ["Sorry, I cannot do that.", '{"summary": "x", "sentiment": "ecstatic"}', '{"summary": "x", "sentiment": "positive"', "[1, 2]"],
    ids=["prose", "bad-sentiment", "truncated", "not-an-object"],
)
def test_session_analysis_malformed_falls_back(answer):
    result = engine(lambda r: httpx.Response(200, json=chat(answer))).analyze_test_session(SESSION)
    offline = OfflineEngine().analyze_test_session(SESSION)
    assert result.engine == "offline" and result.fallback_reason
    assert result.summary == offline.summary and result.sentiment == offline.sentiment


def test_factory_reads_the_environment(caplog):
    assert isinstance(engine_from_env({}), OfflineEngine)
    e = engine_from_env({"WORKBENCH_ENGINE_URL": "http://localhost:8080/v1", "WORKBENCH_ENGINE_MODEL": "qwen",
                         "WORKBENCH_ENGINE_API_KEY": "k", "WORKBENCH_ENGINE_TIMEOUT": "5"})
    assert isinstance(e, OpenAICompatibleEngine)
    assert e.base_url == "http://localhost:8080/v1" and e.model == "qwen" and e._client.timeout.read == 5
    assert e._client.headers["authorization"] == "Bearer k"
    with caplog.at_level("WARNING", logger="workbench.engine"):
        assert isinstance(engine_from_env({"WORKBENCH_ENGINE_URL": "http://localhost:8080/v1"}), OfflineEngine)
        assert isinstance(engine_from_env({"WORKBENCH_ENGINE_URL": "ftp://x", "WORKBENCH_ENGINE_MODEL": "m"}), OfflineEngine)
    assert "both be set" in caplog.text and "http(s)" in caplog.text


def test_workbench_default_engine_comes_from_env(tmp_path, monkeypatch):
    from workbench.services.context import Workbench

    monkeypatch.setenv("WORKBENCH_ENGINE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("WORKBENCH_ENGINE_MODEL", "m")
    wb = Workbench.open(str(tmp_path / "d"), mailer=None)
    try:
        assert isinstance(wb.engine, OpenAICompatibleEngine)
    finally:
        wb.store.close()
    monkeypatch.delenv("WORKBENCH_ENGINE_URL")
    wb = Workbench.open(str(tmp_path / "d"), mailer=None)
    try:
        assert isinstance(wb.engine, OfflineEngine)
    finally:
        wb.store.close()

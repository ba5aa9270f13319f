"""The optional reviewer engine: an OpenAI-compatible chat endpoint (a local model server, say) over httpx.

It speaks ``POST {base_url}/chat/completions``, which llama.cpp's server, Ollama, vLLM,
LM Studio and hosted services all accept. Any failure (connection, timeout, HTTP status,
malformed JSON, empty or unusable content) falls back to the offline engine: the caller gets
the offline text with ``engine="offline"`` and a ``fallback_reason`` naming what went wrong,
so a persona run never half-fails and the result says how it was made.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from workbench.engine.base import (
    AnalysisResult,
    AnnotationBrief,
    EngineResult,
    PersonaBrief,
    Sentiment,
    TestSessionBrief,
)
from workbench.engine.factory import DEFAULT_TIMEOUT
from workbench.engine.offline import OfflineEngine

MAX_TEXT = 8_000  # a review longer than this is a runaway generation, not a review
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)  # reasoning models' scratchpad
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


class EngineFailure(Exception):
    """Why the endpoint's answer could not be used; becomes ``fallback_reason``."""


class _Analysis(BaseModel):
    summary: str
    highlights: list[str] = []
    issues: list[str] = []
    sentiment: Sentiment


class OpenAICompatibleEngine:
    """Chat-completions engine with the offline engine as its safety net."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        temperature: float = 0.2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.temperature = temperature
        self.name = f"openai-compatible:{model}"
        self.fallback = OfflineEngine()
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # One client for the engine's life: connections are pooled across persona runs.
        self._client = httpx.Client(timeout=timeout, transport=transport, headers=headers)

    def close(self) -> None:
        self._client.close()

    # -- the ReviewerEngine protocol ------------------------------------------------------
    def persona_review(self, persona: PersonaBrief, annotation: AnnotationBrief) -> EngineResult:
        system = (
            f"You are {persona.name}, a product reviewer ({persona.category}). {persona.description}\n"
            f"Your focus: {', '.join(persona.focus) or persona.category}. Voice: {persona.voice or 'plain'}.\n"
            "Review the feedback below in your voice, in at most 120 words of markdown: say what you see, "
            "recommend one concrete change, and end with a line '**Severity: low|medium|high** — <reason>'."
        )
        styles = json.dumps(annotation.computed_styles, sort_keys=True) if annotation.computed_styles else "none"
        user = (
            f"Kind: {annotation.kind}\nStatus: {annotation.status}\nPage: {annotation.page_url}\n"
            f"Selector: {annotation.selector or 'none'}\nComputed styles: {styles}\n"
            f"Summary so far: {annotation.summary or 'none'}\n\nFeedback:\n{annotation.body}"
        )
        try:
            return EngineResult(text=self._complete(system, user), engine=self.name)
        except EngineFailure as exc:
            fallen = self.fallback.persona_review(persona, annotation)
            return fallen.model_copy(update={"fallback_reason": self._reason(exc)})

    def task_instruction(self, content: str, page_path: str) -> EngineResult:
        system = (
            "Rewrite a reviewer's comment left on a web page as one imperative, actionable instruction "
            "for the developer who will make the change. Keep every concrete detail; add nothing. "
            "Answer with the instruction only, one or two sentences."
        )
        try:
            return EngineResult(text=self._complete(system, f"Page: {page_path}\nComment: {content}"), engine=self.name)
        except EngineFailure as exc:
            fallen = self.fallback.task_instruction(content, page_path)
            return fallen.model_copy(update={"fallback_reason": self._reason(exc)})

    def analyze_test_session(self, brief: TestSessionBrief) -> AnalysisResult:
        system = (
            "You analyse one usability test session. Answer with a JSON object only, no prose: "
            '{"summary": str, "highlights": [str], "issues": [str], "sentiment": "positive"|"mixed"|"negative"}.'
        )
        try:
            raw = self._complete(system, brief.model_dump_json(indent=2))
            parsed = _Analysis.model_validate(_json_object(raw))
        except (EngineFailure, ValidationError) as exc:
            fallen = self.fallback.analyze_test_session(brief)
            reason = exc if isinstance(exc, EngineFailure) else EngineFailure("the analysis JSON did not match its schema")
            return fallen.model_copy(update={"fallback_reason": self._reason(reason)})
        # Completion time is a measurement, not an opinion: it comes from the brief, never the model.
        minutes = None if brief.duration_seconds is None or brief.duration_seconds < 0 else round(brief.duration_seconds / 60, 1)
        return AnalysisResult(
            summary=parsed.summary.strip(), highlights=[h for h in parsed.highlights if h.strip()],
            issues=[i for i in parsed.issues if i.strip()], sentiment=parsed.sentiment, completion_minutes=minutes,
            engine=self.name,
        )

    # -- the wire ---------------------------------------------------------------------------
    def _reason(self, exc: Exception) -> str:
        return f"{self.name} at {self.base_url} failed ({exc}); used the offline engine"

    def _complete(self, system: str, user: str) -> str:
        """The assistant's text for one exchange, or ``EngineFailure`` saying why not."""
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": self.temperature,
            "stream": False,
        }
        try:
            response = self._client.post(f"{self.base_url}/chat/completions", json=payload)
        except httpx.TimeoutException:
            raise EngineFailure("timed out") from None
        except httpx.HTTPError as exc:
            raise EngineFailure(f"request error: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise EngineFailure(f"HTTP {response.status_code}")
        try:
            body = response.json()
            content = body["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise EngineFailure("malformed response JSON") from None
        if not isinstance(content, str):
            raise EngineFailure("response content is not text")
        text = _THINK.sub("", content).strip()
        if not text:
            raise EngineFailure("empty response")
        if len(text) > MAX_TEXT:
            raise EngineFailure(f"response longer than {MAX_TEXT} characters")
        return text


def _json_object(text: str) -> Any:
    """The JSON object in a model's answer, tolerating a ```json fence or prose around it."""
    stripped = _FENCE.sub("", text.strip())
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if start == -1 or end <= start:
            raise EngineFailure("the answer holds no JSON object") from None
        try:
            return json.loads(stripped[start : end + 1])
        except json.JSONDecodeError:
            raise EngineFailure("the answer's JSON is malformed") from None

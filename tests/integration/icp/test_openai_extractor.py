"""The OpenAI-compatible extractor against a fake chat model over real HTTP: the extraction
table through it (the fake answers with the rules), the request it sends, and each failure:
refusal, truncation, malformed answers, throttling and server errors, what is retried and
what it becomes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import attrs
import pytest

from lad_adapters.llm import UnconfiguredExtractor, configured_extractor
from lad_adapters.llm.openai_compatible import OpenAICompatibleExtractor
from lad_adapters.llm.rules import RulesExtractor
from lad_adapters.llm.schema import UPDATE_SCHEMA, UPDATE_SCHEMA_NAME
from lad_domain.icp.model import IcpDocument
from lad_domain.icp.ports import IcpExtractor, ModelError, ModelErrorKind, Turn
from tests.fakes.llm_server import FakeChatModel, running
from tests.fakes.unipile import refused_port
from tests.unit.icp.extraction_cases import CASES, CONVERSATIONS, Case, Conversation

MODEL = "fake-model"
MESSAGE = "VPs of Sales at SaaS companies in Germany"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChatModel]:
    yield from running(FakeChatModel())


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def model(fake: FakeChatModel, waits: list[float]) -> Iterator[OpenAICompatibleExtractor]:
    fake.reset()
    with OpenAICompatibleExtractor(fake.url, fake.api_key, MODEL, timeout=2.0,
                                   max_retries=2, sleep=waits.append) as extractor:
        yield extractor


def failure(model: OpenAICompatibleExtractor) -> ModelError:
    with pytest.raises(ModelError) as caught:
        model.extract(MESSAGE, [], IcpDocument())
    return caught.value


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_request_gives_its_icp(model: OpenAICompatibleExtractor, case: Case) -> None:
    update = model.extract(case.message, [], IcpDocument()).update

    assert update.document == attrs.evolve(case.expected, source=MODEL)
    assert update.replace == case.replace
    assert dict(update.remove) == dict(case.remove)


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=str)
def test_a_conversation_builds_its_icp_turn_by_turn(model: OpenAICompatibleExtractor,
                                                    conversation: Conversation) -> None:
    document, history = IcpDocument(), list[Turn]()
    for message in conversation.turns:
        document = document.apply(model.extract(message, history, document).update)
        history.append(Turn("user", message))

    assert document == attrs.evolve(conversation.expected, source=MODEL)


def test_the_request_carries_the_strict_schema_the_model_and_the_key(
        fake: FakeChatModel, model: OpenAICompatibleExtractor) -> None:
    model.extract(MESSAGE, [Turn("user", "Hello"), Turn("assistant", "Who do you sell to?")],
                  IcpDocument(titles=("CFO",)))

    [sent] = fake.requests
    assert sent.path == "/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {fake.api_key}"
    assert sent.json["model"] == MODEL
    assert sent.json["response_format"] == {"type": "json_schema", "json_schema": {
        "name": UPDATE_SCHEMA_NAME, "strict": True, "schema": UPDATE_SCHEMA}}
    roles = [m["role"] for m in sent.json["messages"]]
    assert roles == ["system", "system", "user", "assistant", "user"]
    assert '"titles":["CFO"]' in sent.json["messages"][1]["content"]
    assert sent.json["messages"][-1]["content"] == MESSAGE


def test_usage_is_the_answers_usage(fake: FakeChatModel,
                                    model: OpenAICompatibleExtractor) -> None:
    fake.answer(json.dumps(_answer()), prompt_tokens=321, completion_tokens=45)

    usage = model.extract(MESSAGE, [], IcpDocument()).usage

    assert (usage.provider, usage.model, usage.input_tokens, usage.output_tokens) == (
        "openai", MODEL, 321, 45)


def test_a_refusal_is_refused_with_its_text(fake: FakeChatModel,
                                            model: OpenAICompatibleExtractor) -> None:
    fake.refuse("I can't help with that request.")

    error = failure(model)

    assert error.kind is ModelErrorKind.REFUSED
    assert "I can't help with that request." in error.message
    assert len(fake.requests) == 1


def test_a_truncated_answer_is_asked_again_with_more_tokens(
        fake: FakeChatModel, model: OpenAICompatibleExtractor) -> None:
    fake.truncate()

    extraction = model.extract(MESSAGE, [], IcpDocument())

    assert extraction.update.document.titles == ("VP of Sales",)
    first, second = fake.requests
    assert second.json["max_tokens"] == 2 * first.json["max_tokens"]
    assert extraction.usage.input_tokens > 10  # both attempts are counted


def test_an_answer_truncated_twice_is_truncated(fake: FakeChatModel,
                                                model: OpenAICompatibleExtractor) -> None:
    fake.truncate(times=2)

    assert failure(model).kind is ModelErrorKind.TRUNCATED
    assert len(fake.requests) == 2


def test_a_malformed_answer_is_asked_again(fake: FakeChatModel,
                                           model: OpenAICompatibleExtractor) -> None:
    fake.malformed()
    fake.schema_invalid()

    extraction = model.extract(MESSAGE, [], IcpDocument())

    assert extraction.update.document.person_locations == ("Germany",)
    assert len(fake.requests) == 3


def test_answers_malformed_past_the_retries_are_malformed(
        fake: FakeChatModel, model: OpenAICompatibleExtractor) -> None:
    fake.schema_invalid(times=3)

    error = failure(model)

    assert error.kind is ModelErrorKind.MALFORMED
    assert "$.titles: must be of type array" in error.message
    assert len(fake.requests) == 3


def test_a_failed_call_reports_the_tokens_it_spent(
        fake: FakeChatModel, model: OpenAICompatibleExtractor) -> None:
    """Every attempt was answered, and is paid to the provider: the error carries their
    sum, for the assistant to bill."""
    fake.truncate(times=2)

    error = failure(model)

    assert error.kind is ModelErrorKind.TRUNCATED
    assert error.usage is not None
    assert (error.usage.input_tokens, error.usage.output_tokens) == (20, 10)
    assert (error.usage.provider, error.usage.model) == ("openai", MODEL)


def test_the_worst_case_covers_every_attempt_the_retries_allow(
        model: OpenAICompatibleExtractor) -> None:
    # max_retries=2: three malformed answers and one truncated, each up to 2 x 1,024.
    worst = model.worst_case(1000)
    assert (worst.input_tokens, worst.output_tokens) == (4000, 4 * 2048)


def test_values_the_domain_refuses_are_malformed(fake: FakeChatModel,
                                                 model: OpenAICompatibleExtractor) -> None:
    fake.answer(json.dumps(_answer(headcounts=[{"min": 500, "max": 50}])), times=3)

    error = failure(model)

    assert error.kind is ModelErrorKind.MALFORMED
    assert "answer.headcounts[0]" in error.message


def test_a_short_retry_after_is_waited_for(fake: FakeChatModel, waits: list[float],
                                           model: OpenAICompatibleExtractor) -> None:
    fake.throttle("3")

    extraction = model.extract(MESSAGE, [], IcpDocument())

    assert extraction.update.document.titles == ("VP of Sales",)
    assert waits == [3.0]


def test_throttled_past_the_retries_is_throttled(fake: FakeChatModel, waits: list[float],
                                                 model: OpenAICompatibleExtractor) -> None:
    fake.throttle("2", times=3)

    error = failure(model)

    assert (error.kind, error.retry_after) == (ModelErrorKind.THROTTLED, 2)
    assert waits == [2.0, 2.0]


def test_a_long_retry_after_is_throttled_at_once(fake: FakeChatModel, waits: list[float],
                                                 model: OpenAICompatibleExtractor) -> None:
    fake.throttle("120")

    error = failure(model)

    assert (error.kind, error.retry_after) == (ModelErrorKind.THROTTLED, 120)
    assert waits == []
    assert len(fake.requests) == 1


def test_a_server_error_is_asked_again_after_a_backoff(
        fake: FakeChatModel, waits: list[float], model: OpenAICompatibleExtractor) -> None:
    fake.fail(500)
    fake.fail(503)

    extraction = model.extract(MESSAGE, [], IcpDocument())

    assert extraction.update.document.industries == ("SaaS",)
    assert len(waits) == 2
    assert waits[1] > waits[0]


def test_server_errors_past_the_retries_are_unavailable(
        fake: FakeChatModel, model: OpenAICompatibleExtractor) -> None:
    fake.fail(500, times=3)

    error = failure(model)

    assert error.kind is ModelErrorKind.UNAVAILABLE
    assert "500" in error.message
    assert len(fake.requests) == 3


def test_a_server_that_cannot_be_reached_is_unavailable(waits: list[float]) -> None:
    with OpenAICompatibleExtractor(f"http://127.0.0.1:{refused_port()}", "sk-secret-key",
                                   MODEL, max_retries=1, sleep=waits.append) as model:
        error = failure(model)

    assert error.kind is ModelErrorKind.UNAVAILABLE
    assert "ConnectError" in error.message
    assert len(waits) == 1


def test_a_refused_key_is_not_configured_and_not_repeated(fake: FakeChatModel) -> None:
    with OpenAICompatibleExtractor(fake.url, "sk-wrong-key", MODEL) as model:
        error = failure(model)

    assert error.kind is ModelErrorKind.NOT_CONFIGURED
    assert "LAD_LLM_API_KEY" in error.message
    assert "sk-wrong-key" not in error.message
    assert "sk-wrong-key" not in repr(model)


def test_a_keyword_expands_through_the_model(fake: FakeChatModel,
                                             model: OpenAICompatibleExtractor) -> None:
    expansion = model.expand("Fintech", "industry")

    assert expansion.keywords == RulesExtractor().expand("fintech", "industry").keywords
    assert (expansion.usage.provider, expansion.usage.model) == ("openai", MODEL)
    assert fake.requests[-1].json["response_format"]["json_schema"]["name"] == (
        "keyword_expansion")


def test_the_settings_pick_the_extractor(fake: FakeChatModel) -> None:
    rules = configured_extractor("rules", None, None, None)
    chat = configured_extractor("openai", fake.url, fake.api_key, MODEL)
    assert (rules.provider, rules.model) == ("lad", "rules")
    assert isinstance(chat, OpenAICompatibleExtractor)
    assert chat.model == MODEL
    chat.close()


@pytest.mark.parametrize(("base_url", "api_key", "missing"), [
    ("https://api.openai.com/v1", None, "set LAD_LLM_API_KEY"),
    (None, "sk-key", "set LAD_LLM_BASE_URL"),
    (None, None, "set LAD_LLM_BASE_URL and LAD_LLM_API_KEY"),
])
def test_a_model_without_its_settings_names_them(base_url: str | None, api_key: str | None,
                                                 missing: str) -> None:
    extractor: IcpExtractor = configured_extractor("openai", base_url, api_key, MODEL)

    assert isinstance(extractor, UnconfiguredExtractor)
    with pytest.raises(ModelError) as caught:
        extractor.extract(MESSAGE, [], IcpDocument())
    assert caught.value.kind is ModelErrorKind.NOT_CONFIGURED
    assert caught.value.message == f"the ICP assistant's model is not configured: {missing}"
    with pytest.raises(ModelError):
        extractor.expand("saas", "industry")


def test_an_unknown_kind_of_model_names_the_setting() -> None:
    extractor = configured_extractor("gemini", "https://example.com", "sk-key", MODEL)

    with pytest.raises(ModelError) as caught:
        extractor.extract(MESSAGE, [], IcpDocument())
    assert "LAD_LLM_PROVIDER (one of rules, openai)" in caught.value.message


def _answer(**changes: object) -> dict[str, object]:
    answer: dict[str, object] = {field: [] for field in UPDATE_SCHEMA["required"]}
    answer.update(titles=["VP of Sales"], include_similar_titles=True, **changes)
    return answer

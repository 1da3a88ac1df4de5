"""Reading SSE events without HTTP: the data of an event, and what the OpenAI stream meter keeps, passes
on and drops."""
import ujson

from services.adaptors.openai import OpenAIStreamMeter
from services.sse import EventSplitter, event_data


def event(payload) -> bytes:
    return b"data: " + ujson.dumps(payload).encode()


def delta(**fields) -> bytes:
    return event({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": fields}]})


def test_event_data_of_one_line_several_lines_and_other_fields():
    assert event_data(b'data: {"a":1}') == b'{"a":1}'
    assert event_data(b'data:{"a":1}') == b'{"a":1}'
    assert event_data(b"data:   [DONE]") == b"[DONE]"
    assert event_data(b"event: message\ndata: one\n: a comment\ndata: two") == b"one\ntwo"
    assert event_data(b": keep-alive") == b""


def test_splitter_gives_whole_events_across_chunks_and_line_endings():
    splitter = EventSplitter()
    assert splitter.feed(b"data: 1\n\ndata: ") == [b"data: 1"]
    assert splitter.feed(b"2\r\n\r\n\n\ndata: 3") == [b"data: 2"]
    assert splitter.rest() == [b"data: 3"]


def test_meter_keeps_the_text_of_content_reasoning_tool_calls_and_legacy_completions():
    meter = OpenAIStreamMeter(client_wants_usage=False)
    passed = [meter.on_event(e) for e in (
        delta(role="assistant", content=""),
        delta(reasoning_content="think "),
        delta(content="Hello"),
        delta(content=None, tool_calls=[{"index": 0, "function": {"name": "get", "arguments": '{"q":1}'}}]),
        delta(tool_calls=["not an object", {"function": "not an object"}, {"function": {"arguments": 7}}]),
        event({"choices": [{"index": 0, "text": " world"}]}),
        event({"choices": [{"index": 0, "delta": "not an object"}]}),
        event(["not", "an", "object"]),
        b"data: not json",
    )]
    assert meter.produced_text() == 'think Helloget{"q":1} world'
    assert None not in passed and meter.usage is None


def test_usage_only_event_is_dropped_unless_the_client_asked_for_it():
    usage_event = event({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
    for wants, passed in ((False, None), (True, usage_event)):
        meter = OpenAIStreamMeter(client_wants_usage=wants)
        assert meter.on_event(usage_event) == passed
        assert (meter.usage.prompt_tokens, meter.usage.completion_tokens) == (5, 3)


def test_usage_beside_choices_is_kept_and_the_event_passed_on_and_done_is_seen():
    meter = OpenAIStreamMeter(client_wants_usage=False)
    last = event({"choices": [{"index": 0, "delta": {"content": "!"}}],
                  "usage": {"prompt_tokens": 2, "completion_tokens": 1}})
    assert meter.on_event(last) == last
    assert meter.on_event(event({"choices": [], "usage": None})) is not None
    assert meter.on_event(b"data: [DONE]") == b"data: [DONE]"
    assert (meter.usage.completion_tokens, meter.produced_text(), meter.done) == (1, "!", True)

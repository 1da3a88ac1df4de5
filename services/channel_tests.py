"""Channel tests: one short chat completion through the channel's adaptor, timed.

A test stores the response time (ms) and test time on the channel. A failure whose error proves the key
dead disables the channel when automatic disabling is on (and the channel allows it), and so does, when all
channels are tested, an answer slower than ChannelDisableThreshold seconds (0: no limit); a success
re-enables a channel that was disabled automatically when automatic enabling is on. Channels disabled by
hand stay so.
"""
import asyncio
import dataclasses
import time

import ujson

from models.channels import STATUS_AUTO_DISABLED, STATUS_ENABLED, STATUS_MANUALLY_DISABLED
from services.adaptors import adaptor_for
from services.channel_health import dead_key_reason
from services.errors import NotFound, RelayError, ServiceError, upstream_error
from services.relay import RelayCall
from services.upstream import NO_RESPONSE

TEST_PROMPT = "Reply with the single word: hi"
TEST_MAX_TOKENS = 5
FALLBACK_MODEL = "gpt-4o-mini"
TEST_TIMEOUT = 30          # seconds for one test call
PARALLEL_TESTS = 4         # channels tested at once by "test all"
SCOPES = {"all": None, "enabled": (STATUS_ENABLED,),
          "disabled": (STATUS_MANUALLY_DISABLED, STATUS_AUTO_DISABLED)}


@dataclasses.dataclass
class TestResult:
    success: bool
    message: str
    time: float          # seconds, as One API shows it
    model: str
    response_time: int   # milliseconds, as stored on the channel

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _reply_text(payload: dict) -> str:
    choices = payload.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        message = (choice.get("message") if isinstance(choice, dict) else None) or {}
        if isinstance(message.get("content"), str):
            return message["content"]
    return ""


class ChannelTester:
    def __init__(self, db, upstream, channels, options):
        self.db = db
        self.upstream = upstream
        self.channels = channels
        self.options = options

    async def test(self, channel_id: int, model: str = "", time_limit: bool = False) -> TestResult:
        """`time_limit`: a slow answer counts against the channel (testing all of them, as One API does)."""
        channel = await self.channels.get(channel_id)
        if not isinstance(model, str) or len(model) > 200:
            raise ServiceError("model must be a model name")
        model = model.strip() or channel.test_model or (channel.models[0] if channel.models else FALLBACK_MODEL)
        result, error = await self._call(channel, model)
        await self.db.channels.update(channel.id, {"test_time": int(time.time()),
                                                   "response_time": result.response_time})
        slow = self._too_slow(result) if error is None and time_limit else ""
        if slow:
            result.success, result.message = False, slow
        await self._follow_up(channel, result.success, slow or (dead_key_reason(error) if error else ""))
        return result

    def _too_slow(self, result) -> str:
        """Why a passed test counts as failed, or "" when it was fast enough."""
        limit = self.options["ChannelDisableThreshold"]
        if limit and result.time > limit:
            return f"response time {result.time:.2f} s is over ChannelDisableThreshold ({limit:g} s)"
        return ""

    async def _call(self, channel, model):
        body = {"model": model, "messages": [{"role": "user", "content": TEST_PROMPT}],
                "max_tokens": TEST_MAX_TOKENS}
        call = RelayCall("/v1/chat/completions", "chat", ujson.dumps(body).encode(), body, model, False, False,
                         None, f"channel-test-{channel.id}")
        url, headers, payload = adaptor_for(channel.type).build(channel, call)
        started = time.monotonic()
        response = await self.upstream.fetch(url, "POST", headers, payload, timeout=TEST_TIMEOUT)
        elapsed = time.monotonic() - started
        error = None
        if response.status == NO_RESPONSE:
            error = RelayError(NO_RESPONSE, f"the upstream did not answer: {response.error}")
        elif response.status != 200:
            error = upstream_error(response.status, response.body)
        elif not isinstance(_json(response.body), dict):
            error = RelayError(502, "the upstream answered with something that is not a JSON object")
        message = error.message if error else _reply_text(_json(response.body))
        return TestResult(error is None, message, round(elapsed, 3), model, int(elapsed * 1000)), error

    async def _follow_up(self, channel, passed: bool, disable_reason: str):
        """`disable_reason`: why the test is grounds for disabling the channel ("" when it is not)."""
        if disable_reason:
            if channel.auto_ban and self.options["AutomaticDisableChannelEnabled"]:
                await self.channels.disable_automatically(channel.id, f"channel test: {disable_reason}")
        elif passed and channel.status == STATUS_AUTO_DISABLED and self.options["AutomaticEnableChannelEnabled"]:
            await self.channels.enable_automatically(channel.id, "channel test passed")

    async def test_all(self, scope: str = "all") -> list:
        """Test every channel in the scope (all, enabled, disabled), a few at a time."""
        if scope not in SCOPES:
            raise ServiceError("scope must be all, enabled or disabled")
        statuses = SCOPES[scope]
        channels = [c for c in await self.db.channels.all() if statuses is None or c.status in statuses]
        gate = asyncio.Semaphore(PARALLEL_TESTS)

        async def one(channel):
            async with gate:
                try:
                    result = await self.test(channel.id, time_limit=True)
                except NotFound:     # deleted while the others were tested
                    return None
            return {"id": channel.id, "name": channel.name, **result.as_dict()}

        return [r for r in await asyncio.gather(*(one(c) for c in channels)) if r is not None]


def _json(body: bytes):
    try:
        return ujson.loads(body)
    except ValueError:
        return None

"""Run-time options held in memory: read from MongoDB at start, every SYNC_FREQUENCY seconds, and at
once on this node when changed."""
import ujson

from conf.options import OPTIONS, SECRET_OPTIONS
from services.errors import ServiceError


class OptionError(ServiceError):
    pass


class OptionStore:
    def __init__(self, repo):
        self.repo = repo
        self._raw = {name: default for name, (default, _) in OPTIONS.items()}
        self._values = {name: parse(default) for name, (default, parse) in OPTIONS.items()}
        self.version = 0      # counts changes, so what is derived from options knows when to recompute

    def __getitem__(self, name):
        return self._values[name]

    async def refresh(self):
        stored = await self.repo.all()
        for name, raw in stored.items():
            if name in OPTIONS:
                self._apply(name, raw, strict=False)

    async def set(self, name: str, raw):
        """Validate and store one option; a bad value raises OptionError and changes nothing."""
        if name not in OPTIONS:
            raise OptionError(f"unknown option {name}")
        raw = raw if isinstance(raw, str) else _to_text(raw)
        self._apply(name, raw, strict=True)
        await self.repo.set(name, raw)

    def raw_items(self) -> dict:
        return dict(self._raw)

    def listed_items(self) -> dict:
        """What an option listing may show: every option except the secrets (merchant keys, app tokens)."""
        return {name: raw for name, raw in self._raw.items() if name not in SECRET_OPTIONS}

    def _apply(self, name, raw, strict):
        if raw == self._raw[name]:
            return
        try:
            value = OPTIONS[name][1](raw)
        except ValueError as exc:
            if strict:
                raise OptionError(f"{name}: {exc}") from None
            return  # a bad stored value keeps the last good one
        self._raw[name] = raw
        self._values[name] = value
        self.version += 1


def _to_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return ujson.dumps(value)
    return str(value)

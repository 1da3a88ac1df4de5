"""The in-memory routing table: which channels serve a (group, model), by priority tier and weight.

Built from the abilities and channels collections at start-up, after every channel change on this
node, and every SYNC_FREQUENCY seconds; the hot path never queries MongoDB to choose a channel.
"""
import random

from models.channels import STATUS_ENABLED
from services.errors import RelayError

SMOOTHING = 10   # added to every weight so that weight 0 still gets some traffic


class RoutingTable:
    def __init__(self, db, rng=None):
        self.db = db
        self.rng = rng or random.Random()
        self.channels = {}          # id → Channel (every channel, any status)
        self._tiers = {}            # (group, model) → [[channel ids of the highest priority], [next], ...]
        self._known = set()         # (group, model) served by some channel, enabled or not

    async def reload(self):
        channels = {c.id: c for c in await self.db.channels.all()}
        tiers, known = {}, set()
        for channel in channels.values():
            for group in channel.groups:
                for model in channel.models:
                    known.add((group, model))
                    if channel.status == STATUS_ENABLED:
                        tiers.setdefault((group, model), []).append(channel)
        self._tiers = {route: _by_priority(members) for route, members in tiers.items()}
        self._known = known
        self.channels = channels

    def serves(self, group: str, model: str) -> bool:
        return (group, model) in self._known

    def models_for(self, group: str) -> list:
        """The models some enabled channel serves to the group (what /v1/models lists)."""
        return sorted(model for g, model in self._tiers if g == group)

    def channels_for(self, group: str, model: str) -> list:
        """Every enabled channel that may serve the route, in all priority tiers."""
        return [channel for tier in self._tiers.get((group, model), ()) for channel in tier]

    def pick(self, group: str, model: str, exclude=()):
        """An enabled channel for the route: highest priority tier first, weighted random inside it."""
        for tier in self._tiers.get((group, model), ()):
            candidates = [c for c in tier if c.id not in exclude and c.status == STATUS_ENABLED]
            if len(candidates) == 1:
                return candidates[0]
            if candidates:
                weights = [max(c.weight, 0) + SMOOTHING for c in candidates]
                return self.rng.choices(candidates, weights)[0]
        return None

    def pinned(self, channel_id: int):
        """The channel an admin's key names (`sk-...-<id>`): 404 when there is none, 503 when it is off."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise RelayError(404, f"There is no channel {channel_id}.", "channel_not_found")
        if channel.status != STATUS_ENABLED:
            raise RelayError(503, f"Channel {channel_id} is disabled.", "channel_disabled")
        return channel

    def mark_disabled(self, channel_id: int, status: int):
        """Take a channel out of rotation at once, before the next reload."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return
        channel.status = status
        tiers = {}
        for route, route_tiers in self._tiers.items():
            kept = [t for t in ([c for c in tier if c.id != channel_id] for tier in route_tiers) if t]
            if kept:
                tiers[route] = kept
        self._tiers = tiers


def _by_priority(channels):
    tiers = {}
    for channel in channels:
        tiers.setdefault(channel.priority, []).append(channel)
    return [tiers[p] for p in sorted(tiers, reverse=True)]

"""Reading the `logs` collection from start to end in time order, a batch at a time (for exports)."""
from pymongo import ASCENDING

from models.logs import Logs


def stream(logs: Logs, filters: dict, batch_size: int = 1000):
    """An async cursor over the matching entries, oldest first; the driver fetches `batch_size` at a time."""
    query = Logs.build_query(filters)
    return logs.collection.find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)]).batch_size(batch_size)

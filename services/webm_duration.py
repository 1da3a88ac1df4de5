"""The duration of a WebM (Matroska) upload, which mutagen does not read.

Browsers record voice as WebM (MediaRecorder) and write no duration into it: the segment and its clusters
have "unknown" sizes and the Info element no Duration. So the file is walked element by element: a
Duration in Info is taken when there is one, else the time of the last block (its cluster's timecode
plus the block's own offset), both in TimecodeScale units (nanoseconds per unit, 1,000,000 by default).
"""
import struct

EBML, SEGMENT, INFO, CLUSTER, BLOCK_GROUP = 0x1A45DFA3, 0x18538067, 0x1549A966, 0x1F43B675, 0xA0
TIMECODE_SCALE, DURATION, TIMECODE, SIMPLE_BLOCK, BLOCK = 0x2AD7B1, 0x4489, 0xE7, 0xA3, 0xA1
CONTAINERS = {SEGMENT, INFO, CLUSTER, BLOCK_GROUP}    # walked into; every other element is skipped
MAX_ELEMENTS = 400_000    # a bound on the walk (2 hours of 20-ms frames), whatever the upload holds


def webm_seconds(data: bytes):
    """Seconds of audio in a WebM/Matroska file, or None when it is not one or holds no timing."""
    if not data.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    scale, duration, cluster_time, last_block = 1_000_000, None, 0, None
    position = 0
    for _ in range(MAX_ELEMENTS):
        element = _element(data, position)
        if element is None:
            break
        element_id, start, size = element
        end = len(data) if size is None else start + size
        if element_id in CONTAINERS:
            position = start
            continue
        if end > len(data):
            break
        value = data[start:end]
        if element_id == TIMECODE_SCALE:
            scale = int.from_bytes(value, "big") or scale
        elif element_id == DURATION and size in (4, 8):
            duration = struct.unpack(">f" if size == 4 else ">d", value)[0]
        elif element_id == TIMECODE:
            cluster_time = int.from_bytes(value, "big")
        elif element_id in (SIMPLE_BLOCK, BLOCK):
            offset = _block_offset(value)
            if offset is not None:
                last_block = max(last_block or 0, cluster_time + offset)
        position = end
    units = duration if duration and duration > 0 else last_block
    return units * scale / 1e9 if units else None


def _element(data: bytes, position: int):
    """(id, start of its data, size or None when unknown) of the element at `position`, or None."""
    element_id, length = _vint(data, position, keep_marker=True)
    if element_id is None or length > 4:
        return None
    size, size_length = _vint(data, position + length)
    if size_length is None:
        return None
    unknown = size == (1 << (7 * size_length)) - 1
    return element_id, position + length + size_length, None if unknown else size


def _vint(data: bytes, position: int, keep_marker=False):
    """An EBML variable-length integer: (value, length in bytes), or (None, None)."""
    if position >= len(data) or data[position] == 0:
        return None, None
    first = data[position]
    length = 9 - first.bit_length()
    if length > 8 or position + length > len(data):
        return None, None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[position + 1:position + length]:
        value = (value << 8) | byte
    return value, length


def _block_offset(block: bytes):
    """A block's timecode relative to its cluster: a signed 16-bit number after the track number."""
    _, length = _vint(block, 0)
    if length is None or len(block) < length + 2:
        return None
    return struct.unpack(">h", block[length:length + 2])[0]

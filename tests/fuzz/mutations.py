"""Seeded mutations of valid MP4 / AVI / WebM bytes: blind byte edits and structure-aware edits.

:func:`mutate` maps (original bytes, container, seed) to (mutated bytes, description); the same
inputs always give the same output, so a failing case is reproduced from its seed alone. The
structure-aware edits parse the container (ISO BMFF boxes, RIFF chunks, EBML elements) into a
flat list of :class:`Node` and edit size fields, known header fields (frame counts, sizes,
time scales, sample tables), or swap, duplicate and drop whole atoms.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

#: Box types whose payload holds child boxes, with the bytes to skip before the first child.
MP4_CONTAINERS = {
    b"moov": 0, b"trak": 0, b"mdia": 0, b"minf": 0, b"stbl": 0, b"dinf": 0, b"edts": 0,
    b"udta": 0, b"mvex": 0, b"moof": 0, b"traf": 0, b"meta": 4, b"stsd": 8, b"dref": 8,
    b"avc1": 78, b"mp4v": 78, b"vp09": 78, b"hvc1": 78,
}  # fmt: skip
#: (node name, payload offset, width) of header fields worth lying about, per container.
MP4_FIELDS = {
    b"mvhd": [(12, 4), (16, 4)],  # timescale, duration
    b"tkhd": [(20, 4), (76, 4), (80, 4)],  # duration, width, height (16.16)
    b"mdhd": [(12, 4), (16, 4)],  # timescale, duration
    b"hdlr": [(8, 4)],  # handler type ("vide")
    b"elst": [(4, 4), (8, 4), (12, 4)],  # entry count, segment duration, media time
    b"stts": [(4, 4), (8, 4), (12, 4)],  # entry count, sample count, sample delta
    b"stss": [(4, 4), (8, 4)],  # entry count, first sync sample
    b"ctts": [(4, 4), (8, 4), (12, 4)],  # entry count, sample count, offset
    b"stsc": [(4, 4), (8, 4), (12, 4)],  # entry count, first chunk, samples per chunk
    b"stsz": [(4, 4), (8, 4), (12, 4)],  # sample size, sample count, first size
    b"stco": [(4, 4), (8, 4)],  # entry count, first chunk offset
    b"avc1": [(24, 2), (26, 2), (40, 2)],  # width, height, frame count
    b"mp4v": [(24, 2), (26, 2)],
    b"avcC": [(4, 1), (5, 1), (6, 2), (9, 1), (10, 1)],  # NAL length size, SPS count/len/bytes
}
AVI_FIELDS = {
    b"avih": [(0, 4), (16, 4), (24, 4), (28, 4), (32, 4), (36, 4)],  # us/frame, frames, streams..
    b"strh": [(0, 4), (20, 4), (24, 4), (28, 4), (32, 4), (36, 4), (44, 4)],  # scale, rate, length
    b"strf": [(0, 4), (4, 4), (8, 4), (14, 2), (16, 4)],  # biSize, width, height, bits, fourcc
    b"dmlh": [(0, 4)],  # OpenDML total frames
    b"idx1": [(4, 4), (8, 4), (12, 4), (24, 4), (28, 4)],  # flags, offset, size of entries 0, 1
}
#: EBML master elements (children follow) and integer leaves worth lying about, by element id.
EBML_MASTERS = {
    0x1A45DFA3, 0x18538067, 0x114D9B74, 0x4DBB, 0x1549A966, 0x1654AE6B, 0xAE, 0xE0,
    0x1F43B675, 0xA0, 0x1C53BB6B, 0xBB, 0xB7, 0x1254C367, 0x7373, 0x63C0, 0x67C8,
}  # fmt: skip
EBML_FIELDS = {
    0xB0: "PixelWidth", 0xBA: "PixelHeight", 0x2AD7B1: "TimestampScale", 0x4489: "Duration",
    0x23E383: "DefaultDuration", 0xE7: "ClusterTimestamp", 0xD7: "TrackNumber",
    0x83: "TrackType", 0x42F3: "EBMLMaxSizeLength", 0x42F2: "EBMLMaxIDLength",
    0x4285: "DocTypeReadVersion", 0xB3: "CueTime", 0xF1: "CueClusterPosition",
    0x53AC: "SeekPosition", 0xA3: "SimpleBlock", 0x86: "CodecID",
}  # fmt: skip


@dataclass(frozen=True)
class Node:
    """One box / chunk / element: header at ``start``, payload ``data``..``end``."""

    name: str
    start: int
    data: int
    end: int
    size_at: int  # where the size field starts
    size_len: int  # its width in bytes
    parents: tuple[int, ...]  # indices of the enclosing nodes, outermost first


# --------------------------------------------------------------------------- parsers


def parse_mp4(buf: bytes) -> list[Node]:
    nodes: list[Node] = []

    def walk(pos: int, end: int, parents: tuple[int, ...]) -> None:
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", buf[pos : pos + 8])
            head, size_len = 8, 4
            if size == 1 and pos + 16 <= end:
                size, head = struct.unpack(">Q", buf[pos + 8 : pos + 16])[0], 16
            elif size == 0:
                size = end - pos
            if size < head or pos + size > end:
                return
            nodes.append(
                Node(kind.decode("latin-1"), pos, pos + head, pos + size, pos, size_len, parents)
            )
            if kind in MP4_CONTAINERS:
                walk(pos + head + MP4_CONTAINERS[kind], pos + size, (*parents, len(nodes) - 1))
            pos += size

    walk(0, len(buf), ())
    return nodes


def parse_avi(buf: bytes) -> list[Node]:
    nodes: list[Node] = []

    def walk(pos: int, end: int, parents: tuple[int, ...]) -> None:
        while pos + 8 <= end:
            kind = buf[pos : pos + 4]
            size = struct.unpack("<I", buf[pos + 4 : pos + 8])[0]
            stop = pos + 8 + size
            if stop > end:
                return
            if kind in (b"RIFF", b"LIST") and size >= 4:
                name = f"{kind.decode('latin-1')}:{buf[pos + 8 : pos + 12].decode('latin-1')}"
                nodes.append(Node(name, pos, pos + 12, stop, pos + 4, 4, parents))
                walk(pos + 12, stop, (*parents, len(nodes) - 1))
            else:
                nodes.append(Node(kind.decode("latin-1"), pos, pos + 8, stop, pos + 4, 4, parents))
            pos = stop + (size & 1)

    walk(0, len(buf), ())
    return nodes


def _vint(buf: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """(value, length) of the EBML variable-length integer at ``pos``, or None."""
    if pos >= len(buf) or buf[pos] == 0:
        return None
    length = 8 - buf[pos].bit_length() + 1
    if pos + length > len(buf):
        return None
    value = int.from_bytes(buf[pos : pos + length], "big")
    return (value if keep_marker else value & ((1 << (7 * length)) - 1)), length


def parse_ebml(buf: bytes) -> list[Node]:
    nodes: list[Node] = []

    def walk(pos: int, end: int, parents: tuple[int, ...]) -> None:
        while pos < end:
            ident, size_field = _vint(buf, pos, True), None
            if ident is not None:
                size_field = _vint(buf, pos + ident[1], False)
            if ident is None or size_field is None:
                return
            (eid, id_len), (size, size_len) = ident, size_field
            data = pos + id_len + size_len
            unknown = size == (1 << (7 * size_len)) - 1
            stop = end if unknown else data + size
            if stop > end:
                return
            name = EBML_FIELDS.get(eid, f"0x{eid:X}")
            nodes.append(Node(name, pos, data, stop, pos + id_len, size_len, parents))
            if eid in EBML_MASTERS:
                walk(data, stop, (*parents, len(nodes) - 1))
            pos = stop

    walk(0, len(buf), ())
    return nodes


PARSERS: dict[str, Callable[[bytes], list[Node]]] = {
    "mp4": parse_mp4,
    "avi": parse_avi,
    "webm": parse_ebml,
}


# --------------------------------------------------------------------------- helpers


def interesting(rng: random.Random, old: int, width: int) -> int:
    """A value likely to break a reader: 0, 1, off by one, doubled, huge, 10**9, random."""
    top = (1 << (8 * width)) - 1
    picks = [
        0,
        1,
        old - 1,
        old + 1,
        old * 2,
        top,
        top >> 1,
        8192,
        65535,
        10**9,
        rng.randint(0, top),
    ]
    return min(max(rng.choice(picks), 0), top)


def encode_size(kind: str, value: int, length: int) -> bytes | None:
    """The size field ``value`` in ``length`` bytes for this container, or None if it won't fit."""
    if kind == "webm":
        if value >= (1 << (7 * length)) - 1:
            return None
        return (value | (1 << (7 * length))).to_bytes(length, "big")
    if value >= 1 << (8 * length):
        return None
    return value.to_bytes(length, "big" if kind == "mp4" else "little")


def read_size(kind: str, buf: bytes, node: Node) -> int:
    raw = buf[node.size_at : node.size_at + node.size_len]
    if kind == "webm":
        return int.from_bytes(raw, "big") & ((1 << (7 * node.size_len)) - 1)
    return int.from_bytes(raw, "big" if kind == "mp4" else "little")


def resize_parents(
    kind: str, buf: bytearray, nodes: list[Node], node: Node, delta: int, at: int
) -> None:
    """Grow every ancestor's size field by ``delta``; ``at`` is where the bytes were inserted
    (size fields after it have moved by ``delta`` already). Fields that cannot hold it stay."""
    for i in node.parents:
        parent = nodes[i]
        where = parent.size_at + (delta if parent.size_at >= at else 0)
        new = encode_size(kind, read_size(kind, bytes(buf), parent) + delta, parent.size_len)
        if new is not None:
            buf[where : where + parent.size_len] = new


# --------------------------------------------------------------------------- mutations


def flip_bytes(
    buf: bytes, rng: random.Random, lo: int = 0, hi: int | None = None
) -> tuple[bytes, str]:
    out, hi = bytearray(buf), len(buf) if hi is None else hi
    spots = sorted(rng.randrange(lo, hi) for _ in range(rng.randint(1, 8)))
    for pos in spots:
        out[pos] ^= rng.randint(1, 255)
    return bytes(out), f"flip bytes at {spots}"


def truncate(buf: bytes, rng: random.Random) -> tuple[bytes, str]:
    cut = rng.choice([rng.randrange(1, len(buf)), len(buf) - rng.randint(1, 64)])
    return buf[:cut], f"truncate to {cut} of {len(buf)} bytes"


def zero_range(buf: bytes, rng: random.Random) -> tuple[bytes, str]:
    length = rng.choice([rng.randint(1, 16), rng.randint(16, 4096)])
    start = rng.randrange(0, len(buf))
    end = min(len(buf), start + length)
    return buf[:start] + bytes(end - start) + buf[end:], f"zero bytes {start}..{end}"


def insert_copy(buf: bytes, rng: random.Random) -> tuple[bytes, str]:
    start = rng.randrange(0, len(buf))
    end = min(len(buf), start + rng.randint(1, 2048))
    at = rng.randrange(0, len(buf))
    return buf[:at] + buf[start:end] + buf[at:], f"insert a copy of bytes {start}..{end} at {at}"


def edit_size(kind: str, buf: bytes, nodes: list[Node], rng: random.Random) -> tuple[bytes, str]:
    node = rng.choice(nodes)
    old = read_size(kind, buf, node)
    for _ in range(8):
        new = encode_size(kind, interesting(rng, old, node.size_len), node.size_len)
        if new is not None:
            break
    else:  # an EBML size field of all-ones: the "unknown size" marker
        new = b"\xff" * node.size_len if kind == "webm" else bytes(node.size_len)
    out = buf[: node.size_at] + new + buf[node.size_at + node.size_len :]
    return out, f"{node.name}@{node.start} size {old} -> {read_size(kind, out, node)}"


def edit_field(kind: str, buf: bytes, nodes: list[Node], rng: random.Random) -> tuple[bytes, str]:
    """Set a known header field to an interesting value (big-endian except AVI)."""
    table = {"mp4": MP4_FIELDS, "avi": AVI_FIELDS}.get(kind)
    spots = []
    for node in nodes:
        if table is None:  # EBML: the whole payload of a known leaf (up to 8 bytes)
            width = node.end - node.data
            if node.name in EBML_FIELDS.values() and 0 < width:
                spots.append((node, 0, min(width, 8) if node.name != "SimpleBlock" else 4))
        else:
            key = node.name.encode("latin-1")
            spots += [
                (node, off, w) for off, w in table.get(key, []) if node.data + off + w <= node.end
            ]
    if not spots:
        return flip_bytes(buf, rng)
    node, off, width = rng.choice(spots)
    order = "little" if kind == "avi" else "big"
    at = node.data + off
    old = int.from_bytes(buf[at : at + width], order)
    new = next((v for v in (interesting(rng, old, width) for _ in range(8)) if v != old), old ^ 1)
    out = buf[:at] + new.to_bytes(width, order) + buf[at + width :]
    return out, f"{node.name}@{node.start}+{off} ({width} B) {old} -> {new}"


def swap_siblings(
    kind: str, buf: bytes, nodes: list[Node], rng: random.Random
) -> tuple[bytes, str]:
    pairs = [
        (a, b)
        for a, b in zip(nodes, nodes[1:], strict=False)
        if a.parents == b.parents and a.end <= b.start
    ]
    if not pairs:
        return flip_bytes(buf, rng)
    a, b = rng.choice(pairs)
    out = (
        buf[: a.start]
        + buf[b.start : b.end]
        + buf[a.end : b.start]
        + buf[a.start : a.end]
        + buf[b.end :]
    )
    return out, f"swap {a.name}@{a.start} with {b.name}@{b.start}"


def duplicate_node(
    kind: str, buf: bytes, nodes: list[Node], rng: random.Random
) -> tuple[bytes, str]:
    node = rng.choice(nodes)
    fix = rng.random() < 0.5
    out = bytearray(buf[: node.end] + buf[node.start : node.end] + buf[node.end :])
    if fix:
        resize_parents(kind, out, nodes, node, node.end - node.start, node.end)
    return bytes(
        out
    ), f"duplicate {node.name}@{node.start} ({'parents resized' if fix else 'sizes kept'})"


def drop_node(kind: str, buf: bytes, nodes: list[Node], rng: random.Random) -> tuple[bytes, str]:
    node = rng.choice(nodes)
    fix = rng.random() < 0.5
    out = bytearray(buf[: node.start] + buf[node.end :])
    if fix:
        resize_parents(kind, out, nodes, node, node.start - node.end, len(buf) + 1)
    return bytes(
        out
    ), f"drop {node.name}@{node.start} ({'parents resized' if fix else 'sizes kept'})"


def flip_in_node(kind: str, buf: bytes, nodes: list[Node], rng: random.Random) -> tuple[bytes, str]:
    """Flip bytes inside one small (header) node, where blind flips rarely land."""
    small = [n for n in nodes if 0 < n.end - n.data <= 4096] or nodes
    node = rng.choice(small)
    out, what = flip_bytes(buf, rng, node.data, max(node.end, node.data + 1))
    return out, f"in {node.name}@{node.start}: {what}"


BLIND = (flip_bytes, truncate, zero_range, insert_copy)
STRUCTURAL = (
    edit_size,
    edit_field,
    edit_field,
    swap_siblings,
    duplicate_node,
    drop_node,
    flip_in_node,
)


def mutate(buf: bytes, kind: str, seed: int) -> tuple[bytes, str]:
    """Deterministic mutation number ``seed`` of ``buf`` (a ``kind`` = mp4 | avi | webm file)."""
    rng = random.Random(seed)
    nodes = PARSERS[kind](buf)
    if nodes and rng.random() < 0.6:
        op = rng.choice(STRUCTURAL)
        out, what = op(kind, buf, nodes, rng)
    else:
        op = rng.choice(BLIND)
        out, what = op(buf, rng)
    return out, f"{op.__name__}: {what}"

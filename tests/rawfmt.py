# SPDX-License-Identifier: Apache-2.0
"""Pure-Python reader of board-interface v1 streams, for the tests.

Independent of the C code: its own CRC-32C table, fragment checks
(proto/README.md s.1) and a stream scanner that splits a raw file into
fragments (good or CRC-bad), 4-byte bad headers and junk runs, as
darkdaq-dump does for the streams the simulator writes.
"""
import struct

MAGIC = b"DKFR"
END_MAGIC = b"DKEN"
HEADER = struct.Struct("<4sBBHIIQII")
BLOCK = struct.Struct("<HHI")
TRACK = struct.Struct("<iiiiibBH")
CLUSTER = struct.Struct("<IiihH")
MUON = struct.Struct("<iiBBH")
RECORD = {1: TRACK, 2: CLUSTER, 3: MUON}
BLOCK_NAMES = {1: "track", 2: "cluster", 3: "muon", 255: "raw"}
MAX_PAYLOAD = 1048576


def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF)."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


class Fragment:
    """One fragment: header fields, raw bytes, decoded blocks, and errors."""

    def __init__(self, data, offset):
        (self.magic, self.version, self.source, self.flags, self.trigger,
         self.payload_bytes, self.time, self.bits, self.reserved) = HEADER.unpack_from(data, offset)
        self.offset = offset
        self.size = 32 + self.payload_bytes + 8
        self.raw = bytes(data[offset:offset + self.size])
        self.payload = self.raw[32:32 + self.payload_bytes]
        self.crc_ok = struct.unpack_from("<I", self.raw, 32 + self.payload_bytes)[0] == \
            crc32c(self.raw[:32 + self.payload_bytes])
        self.blocks = []          # (type, count, bytes, [records] or raw bytes)
        self.errors = []
        if not self.crc_ok:
            self.errors.append("crc mismatch")
        if self.flags & ~0x7:
            self.errors.append("flag bits 3-15 set")
        self._parse_blocks()

    def _parse_blocks(self):
        p, end = 0, len(self.payload)
        while p < end:
            if p + 8 > end:
                self.errors.append("block header cut")
                return
            btype, count, nbytes = BLOCK.unpack_from(self.payload, p)
            p += 8
            if nbytes % 4:
                self.errors.append("block_bytes not a multiple of 4")
            if p + nbytes > end:
                self.errors.append("block runs past the payload")
                return
            body = self.payload[p:p + nbytes]
            if btype in RECORD:
                rec = RECORD[btype]
                if nbytes != count * rec.size:
                    self.errors.append("block_bytes != count * record size")
                    return
                records = [rec.unpack_from(body, i * rec.size) for i in range(count)]
                if btype == 1 and any(r[5] not in (1, -1) for r in records):
                    self.errors.append("track charge")
                if btype == 3 and any(r[4] != 0 for r in records):
                    self.errors.append("muon reserved")
                self.blocks.append((btype, count, nbytes, records))
            else:
                if btype == 255 and count != 0:
                    self.errors.append("raw count")
                self.blocks.append((btype, count, nbytes, body))
            p += nbytes

    @property
    def ok(self):
        return not self.errors

    def records(self, btype):
        out = []
        for t, _, _, recs in self.blocks:
            if t == btype:
                out.extend(recs)
        return out

    def header_ok(self):
        return (self.magic == MAGIC and self.version == 1 and self.source <= 63
                and self.payload_bytes % 4 == 0 and self.payload_bytes <= MAX_PAYLOAD
                and self.reserved == 0)


def scan(data):
    """Splits a stream into items, in order, covering every byte once:
    ("fragment", Fragment), ("bad", offset, 4) for a header magic that does
    not begin a fragment, ("junk", offset, nbytes)."""
    items = []
    o, n = 0, len(data)
    junk_start = None

    def flush_junk(end):
        nonlocal junk_start
        if junk_start is not None:
            items.append(("junk", junk_start, end - junk_start))
            junk_start = None

    while o < n:
        if o + 4 <= n and data[o:o + 4] == MAGIC:
            flush_junk(o)
            if o + 32 > n:
                items.append(("bad", o, 4))
                o += 4
                continue
            magic, version, source, _, _, pb, _, _, reserved = HEADER.unpack_from(data, o)
            size = 32 + pb + 8
            if (version == 1 and source <= 63 and pb % 4 == 0 and pb <= MAX_PAYLOAD
                    and reserved == 0 and o + size <= n
                    and data[o + size - 4:o + size] == END_MAGIC):
                items.append(("fragment", Fragment(data, o)))
                o += size
            else:
                items.append(("bad", o, 4))
                o += 4
            continue
        if junk_start is None:
            junk_start = o
        o += 4
    flush_junk(n)
    if items and items[-1][0] == "junk" and items[-1][1] + items[-1][2] > n:
        kind, start, _ = items[-1]
        items[-1] = (kind, start, n - start)
    return items


def read(path):
    with open(path, "rb") as f:
        return scan(f.read())


def fragments(path):
    return [it[1] for it in read(path) if it[0] == "fragment"]

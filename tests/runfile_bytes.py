# SPDX-License-Identifier: Apache-2.0
"""Run-file bytes for tests, written from proto/README.md s.2 on their own
(not through any reader under test): frames of versions 1 and 2, and
damage made to them."""
import struct

FILE_HEADER = b"DKRN" + struct.pack("<I", 2)
SYNC = b"DKRS"
NO_SEQ = (1 << 64) - 1


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc_table()


def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


class Frame:
    """One frame of an image: offset, header size, payload, sender, seq."""

    def __init__(self, offset, hb, payload, sender=0, seq=NO_SEQ):
        self.offset, self.hb, self.payload, self.sender, self.seq = (offset, hb, payload,
                                                                     sender, seq)

    @property
    def size(self):
        return self.hb + len(self.payload)

    @property
    def end(self):
        return self.offset + self.size


def frames(data):
    """The frames of a well-formed image of either version."""
    data = bytes(data)
    out = []
    if data[:4] == b"DKRN":
        pos = 8
        while pos + 24 <= len(data):
            assert data[pos:pos + 4] == SYNC, pos
            n, sender, seq = struct.unpack_from("<IIQ", data, pos + 4)
            out.append(Frame(pos, 24, data[pos + 24:pos + 24 + n], sender, seq))
            pos += 24 + n
    else:
        pos = 0
        while pos + 8 <= len(data):
            (n,) = struct.unpack_from("<I", data, pos)
            out.append(Frame(pos, 8, data[pos + 8:pos + 8 + n]))
            pos += 8 + n
    return out


def v2_frame(payload, sender=1, seq=NO_SEQ):
    head = SYNC + struct.pack("<IIQ", len(payload), sender, seq)
    return head + struct.pack("<I", crc32c(payload, crc32c(head))) + payload


def v1_frame(payload):
    return struct.pack("<II", len(payload), crc32c(payload)) + payload


def to_v1(data):
    """The same records as a version 1 file."""
    return b"".join(v1_frame(f.payload) for f in frames(data))

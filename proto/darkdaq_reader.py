# SPDX-License-Identifier: Apache-2.0
"""Reads darkdaq run files (proto/README.md s.2) with python3-protobuf.

A run file, version 2, is an 8-byte file header ("DKRN", u32 2), then
frames: "DKRS", u32 length, u32 sender, u64 seq, u32 CRC-32C over those 20
bytes and the payload, payload = one serialized darkdaq.Record.  Version 1
(still read) is frames of u32 length, u32 CRC-32C of the payload, payload.
The first record is a run header, the last a run trailer; a file cut short
(a crash) is readable up to its last whole frame, and a damaged frame
anywhere is skipped to the next good one and reported.

    from darkdaq_reader import read_run
    for rec in read_run("run-000012-000.dkr"):
        if rec.WhichOneof("body") == "event":
            print(rec.event.trigger, [f.name for f, _ in rec.event.tags.ListFields()])

read_run() yields every good frame's Record, checking each CRC-32C; a frame
that is cut, fails its CRC or does not parse is reported and reading goes
on at the next offset where a good frame starts; seqs are checked (a
duplicate is reported and yielded once, a gap reported).  Once the file is
read it raises RunFileError (with .offset, .reason and .damage) if anything
was found, unless strict=False.  RunFile gives the same records and, once
read, says whether the file was whole (.complete), where it stopped and
what was damaged (.damage: (offset, kind, skipped, reason) tuples).

Needs the generated module darkdaq_pb2 on the path:
PYTHONPATH=build/gen:proto python3 proto/darkdaq_reader.py RUNFILE...
prints the number of events per tag.
"""

import struct
import sys

import darkdaq_pb2

__all__ = ["RunFileError", "RunFile", "read_run", "crc32c", "tag_counts"]

FRAME_HEADER = 8  # version 1; version 2: 24
MAX_RECORD = 256 << 20  # larger lengths are not believed (as runfile.h)


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli) of data, continuing from crc (0 to start)."""
    table = _TABLE
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


NO_SEQ = (1 << 64) - 1
SYNC = b"DKRS"


class RunFileError(ValueError):
    """Damage in a run file; raised once every good frame was read."""

    def __init__(self, path, offset, frame, reason, damage=()):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.offset = offset  # byte offset of the first damage
        self.frame = frame  # frames read
        self.reason = reason
        self.damage = list(damage)


def _shape_ok(p):
    """Whether p has the shape of a packed Record: one body field (1..6,
    length-delimited) whose length fills it."""
    if len(p) < 2 or p[0] & 7 != 2 or not 0x0A <= p[0] <= 0x32:
        return False
    v = shift = 0
    for i in range(1, min(len(p), 11)):
        v |= (p[i] & 0x7F) << shift
        shift += 7
        if not p[i] & 0x80:
            return i + 1 + v == len(p)
    return False


class RunFile:
    """Iterates the Records of one run file (version 1 or 2).

    After iteration: complete (True when the file ended on a frame boundary
    with a run trailer as its last record and nothing was damaged),
    stop_offset, frames, stop_reason (None when the frames ended cleanly)
    and damage (a list of (offset, kind, skipped, reason)).  With
    strict=True iteration raises RunFileError once every good record has
    been yielded, if anything was damaged.
    """

    def __init__(self, path, strict=True):
        self.path = path
        self.strict = strict
        self.complete = False
        self.frames = 0
        self.stop_offset = None
        self.stop_reason = None
        self.damage = []

    def _check(self, data, pos, frame):
        """(record, length, reason) of the frame at pos: reason None when good."""
        left = len(data) - pos
        hb = self._hb
        if left < hb:
            return None, 0, (f"frame header cut at byte {pos}: "
                             f"{hb} bytes needed, {left} present")
        if self.version == 2:
            if data[pos:pos + 4] != SYNC:
                return None, 0, f"no frame sync word at byte {pos}"
            length, = struct.unpack_from("<I", data, pos + 4)
            crc, = struct.unpack_from("<I", data, pos + 20)
        else:
            length, crc = struct.unpack_from("<II", data, pos)
        if length > MAX_RECORD:
            return None, 0, (f"frame {frame} at byte {pos}: length {length} "
                             f"is above the {MAX_RECORD}-byte limit")
        if length > left - hb:
            return None, 0, (f"frame cut at byte {pos}: header says {length} "
                             f"bytes, {left - hb} present")
        payload = data[pos + hb:pos + hb + length]
        have = crc32c(payload, crc32c(data[pos:pos + 20]) if self.version == 2 else 0)
        if have != crc:
            return None, 0, (f"crc mismatch at frame {frame} offset {pos}: "
                             f"stored {crc:08x}, computed {have:08x}")
        if length == 0:
            return None, 0, f"record does not parse at frame {frame} offset {pos}: empty frame"
        rec = darkdaq_pb2.Record()
        try:
            rec.ParseFromString(payload)
        except Exception:  # DecodeError, and RuntimeWarning-ish cases
            return None, 0, f"record does not parse at frame {frame} offset {pos}"
        return rec, length, None

    def _good_at(self, data, q):
        hb = self._hb
        if len(data) - q < hb + 2:
            return None
        if self.version == 2:
            if data[q:q + 4] != SYNC:
                return None
        else:
            length, = struct.unpack_from("<I", data, q)
            if length < 2 or length > len(data) - q - hb or \
                    not _shape_ok(data[q + hb:q + hb + length]):
                return None
        rec, length, reason = self._check(data, q, 0)
        return None if reason else (rec, length)

    def _resync(self, data, bad):
        """(offset, record, length) of the next good frame after bad (the
        earliest, every offset tried), or None."""
        hb = self._hb
        q = bad + 1
        while q + hb + 2 <= len(data):
            if self.version == 2:
                q = data.find(SYNC, q)
                if q < 0:
                    return None
            g = self._good_at(data, q)
            if g:
                return (q,) + g
            q += 1
        return None

    def _report(self, offset, kind, skipped, reason):
        self.damage.append((offset, kind, skipped, reason))

    def __iter__(self):
        with open(self.path, "rb") as f:
            data = f.read()
        self.complete = False
        self.stop_reason = None
        self.damage = []
        self.version, pos = 1, 0
        if data[:4] == b"DKRN":
            if len(data) < 8 or struct.unpack_from("<I", data, 4)[0] != 2:
                self.stop_offset, self.stop_reason = 0, "file header cut or version not 1 or 2"
                if self.strict:
                    raise RunFileError(self.path, 0, 0, self.stop_reason)
                return
            self.version, pos = 2, 8
        elif data[8:12] == SYNC:
            self.version, pos = 2, 8
            self._report(0, "skipped", 8, "file header damaged, a frame sync word after it")
        self._hb = 24 if self.version == 2 else 8
        frame = returned = 0
        last = None
        seqs = {}  # sender -> [next, pending]
        resynced = False
        after_trailer = None
        while pos < len(data):
            rec, length, reason = self._check(data, pos, frame)
            if reason is not None:
                found = self._resync(data, pos)
                if found is None:
                    self.stop_offset = pos
                    self.stop_reason = reason
                    break
                q, rec, length = found
                self._report(pos, "skipped", q - pos,
                             f"{reason}; {q - pos} bytes skipped to the next good frame "
                             f"at byte {q}")
                pos = q
                resynced = True
            frame += 1
            keep = True
            if self.version == 2:
                sender, seq = struct.unpack_from("<IQ", data, pos + 8)
                keep = self._seq(seqs, pos, sender, seq, rec, resynced)
            resynced = False
            at = pos
            pos += self._hb + length
            if not keep:
                continue
            body = rec.WhichOneof("body")
            if after_trailer is not None:
                self._report(after_trailer, "early_trailer", 0,
                             f"run trailer at byte {after_trailer} is not the last frame")
                after_trailer = None
            if body == "run_header" and returned:
                self._report(at, "second_header", 0, f"second run header at byte {at}")
            if body == "run_trailer":
                after_trailer = at
                want = rec.run_trailer.records_in_file
                if want and want != returned + 1:
                    self._report(at, "count", 0, f"run trailer at byte {at} counts {want} "
                                 f"records in the file, {returned + 1} read")
            returned += 1
            self.frames = frame
            last = rec
            yield rec
        self.frames = frame
        if self.stop_reason is None:
            self.stop_offset = pos
        self.complete = (last is not None and last.WhichOneof("body") == "run_trailer" and
                         self.stop_reason is None and not self.damage)
        if self.strict and (self.damage or self.stop_reason):
            first = self.damage[0] if self.damage else (self.stop_offset, "end", 0,
                                                        self.stop_reason)
            raise RunFileError(self.path, first[0], frame, first[3], self.damage)

    def _seq(self, seqs, pos, sender, seq, rec, resynced):
        if seq == NO_SEQ:
            return True
        st = seqs.get(sender)
        if st is None or (seq == 0 and rec.WhichOneof("body") == "run_header"):
            seqs[sender] = [seq + 1, NO_SEQ]
            return True
        want, pending = st
        st[1] = NO_SEQ
        if pending != NO_SEQ and seq == pending + 1:
            st[0] = seq + 1
            return True
        if seq < want:
            self._report(pos, "duplicate", 0, f"frame at byte {pos} carries seq {seq} of "
                         f"sender {sender}, read already: not returned again")
            return False
        if seq > want and resynced:
            self._report(pos, "resync_seq", 0, f"frame found after damage at byte {pos} "
                         f"carries seq {seq}, {want} expected")
            st[1] = seq
            return True
        if seq > want:
            self._report(pos, "seq_gap", 0, f"seqs {want}..{seq - 1} of sender {sender} "
                         f"missing before the frame at byte {pos}")
        st[0] = seq + 1
        return True


def read_run(path, strict=True):
    """Yields the darkdaq_pb2.Record of every good frame of the run file at
    path, past any damage.  Raises RunFileError once the file is read if
    anything was damaged, unless strict is False.
    """
    return iter(RunFile(path, strict=strict))


def tag_counts(records):
    """Events per tag name, and the number of events, over records."""
    counts = {f.name: 0 for f in darkdaq_pb2.Tags.DESCRIPTOR.fields}
    events = 0
    for rec in records:
        if rec.WhichOneof("body") != "event":
            continue
        events += 1
        for field, _ in rec.event.tags.ListFields():
            counts[field.name] += 1
    return counts, events


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print("usage: darkdaq_reader.py RUNFILE...\n"
              "Prints the number of events per tag in the run files given.",
              file=sys.stderr if len(argv) < 2 else sys.stdout)
        return 2 if len(argv) < 2 else 0
    total = None
    n_events = 0
    status = 0
    for path in argv[1:]:
        run = RunFile(path, strict=False)
        try:
            counts, events = tag_counts(run)
        except OSError as e:
            print(f"darkdaq_reader: {path}: {e.strerror}", file=sys.stderr)
            status = 1
            continue
        for offset, _kind, _skipped, reason in run.damage:
            print(f"darkdaq_reader: {path}: {reason}", file=sys.stderr)
        if not run.complete:
            why = run.stop_reason or ("damaged" if run.damage else "no run trailer")
            print(f"darkdaq_reader: {path}: incomplete at byte {run.stop_offset}: {why}",
                  file=sys.stderr)
        n_events += events
        if total is None:
            total = counts
        else:
            for k, v in counts.items():
                total[k] += v
    if total is not None:
        print(f"{n_events} events")
        for name, n in total.items():
            print(f"{name:20s} {n}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))

# SPDX-License-Identifier: Apache-2.0
"""Reads darkdaq run files (proto/README.md s.2) with python3-protobuf.

A run file is a sequence of frames: u32 length (little-endian), u32 CRC-32C
of the payload, payload = one serialized darkdaq.Record.  The first record
is a run header, the last a run trailer; a file cut short (a crash) is
readable up to its last whole frame.

    from darkdaq_reader import read_run
    for rec in read_run("run-000012-000.dkr"):
        if rec.WhichOneof("body") == "event":
            print(rec.event.trigger, [f.name for f, _ in rec.event.tags.ListFields()])

read_run() yields every whole frame's Record, checking each CRC-32C; at a
frame that is cut, fails its CRC or does not parse it raises RunFileError
(with .offset and .reason) after yielding every frame before it, or, with
strict=False, just stops.  RunFile gives the same records and, once read,
says whether the file was whole (.complete) and where it stopped.

Needs the generated module darkdaq_pb2 on the path:
PYTHONPATH=build/gen:proto python3 proto/darkdaq_reader.py RUNFILE...
prints the number of events per tag.
"""

import struct
import sys

import darkdaq_pb2

__all__ = ["RunFileError", "RunFile", "read_run", "crc32c", "tag_counts"]

FRAME_HEADER = 8
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


class RunFileError(ValueError):
    """A frame that is cut, too long, fails its CRC or does not parse."""

    def __init__(self, path, offset, frame, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.offset = offset  # byte offset of the frame not read
        self.frame = frame  # its index, from 0
        self.reason = reason


class RunFile:
    """Iterates the Records of one run file.

    After iteration: complete (True when the file ended on a frame boundary
    with a run trailer as its last record), stop_offset, frames and
    stop_reason (None when the frames ended cleanly) tell where it stopped.
    With strict=True iteration raises RunFileError at a damaged frame.
    """

    def __init__(self, path, strict=True):
        self.path = path
        self.strict = strict
        self.complete = False
        self.frames = 0
        self.stop_offset = None
        self.stop_reason = None

    def __iter__(self):
        with open(self.path, "rb") as f:
            data = f.read()
        pos = 0
        frame = 0
        last = None
        self.complete = False
        self.stop_reason = None
        while True:
            left = len(data) - pos
            reason = None
            if left == 0:
                break
            if left < FRAME_HEADER:
                reason = (f"frame header cut at byte {pos}: "
                          f"8 bytes needed, {left} present")
            else:
                length, crc = struct.unpack_from("<II", data, pos)
                if length > MAX_RECORD:
                    reason = (f"frame {frame} at byte {pos}: length {length} "
                              f"is above the {MAX_RECORD}-byte limit")
                elif length > left - FRAME_HEADER:
                    reason = (f"frame cut at byte {pos}: header says {length} "
                              f"bytes, {left - FRAME_HEADER} present")
                else:
                    payload = data[pos + FRAME_HEADER:pos + FRAME_HEADER + length]
                    have = crc32c(payload)
                    if have != crc:
                        reason = (f"crc mismatch at frame {frame} offset {pos}: "
                                  f"stored {crc:08x}, computed {have:08x}")
                    elif length == 0:
                        reason = (f"record does not parse at frame {frame} "
                                  f"offset {pos}: empty frame")
                    else:
                        rec = darkdaq_pb2.Record()
                        try:
                            rec.ParseFromString(payload)
                        except Exception:  # DecodeError, and RuntimeWarning-ish cases
                            reason = (f"record does not parse at frame {frame} "
                                      f"offset {pos}")
            if reason is not None:
                self.stop_offset = pos
                self.frames = frame
                self.stop_reason = reason
                if self.strict:
                    raise RunFileError(self.path, pos, frame, reason)
                return
            pos += FRAME_HEADER + length
            frame += 1
            self.frames = frame
            last = rec
            yield rec
        self.stop_offset = pos
        self.frames = frame
        self.complete = last is not None and last.WhichOneof("body") == "run_trailer"


def read_run(path, strict=True):
    """Yields the darkdaq_pb2.Record of every frame of the run file at path.

    Raises RunFileError at the first damaged frame (after yielding all
    before it) unless strict is False, in which case it just stops there.
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
        if not run.complete:
            why = run.stop_reason or "no run trailer"
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

# SPDX-License-Identifier: Apache-2.0
"""A stand-in for darkdaq-store in the live tests, until the real one is
built: same command line (-c FILE with [store] dir, data), same storage
channel (v2, proto/storage-channel.md: a DEALER, HELLO until WELCOME) and same run files (run-NNNNNN-000.dkr,
frames of u32 length, u32 CRC-32C, packed Record).  It says HELLO at start,
skips records it already wrote, and ACKs after each batch it has written.
Not a test module itself (no test_ prefix)."""
import configparser
import os
import struct
import sys

import zmq

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "proto"))
from darkdaq_reader import crc32c  # noqa: E402

DATA_MAGIC = 0x32534B44
CTL_MAGIC = 0x43534B44
HELLO, WELCOME, ACK = 1, 2, 3


def main():
    assert sys.argv[1] == "-c"
    cp = configparser.ConfigParser()
    cp.read(sys.argv[2])
    st = cp["store"]
    ctx = zmq.Context()
    pull = push = ctx.socket(zmq.DEALER)
    pull.connect(st["data"])
    session = sender = 0
    while not session:
        push.send(struct.pack("<IIIIIIQ", CTL_MAGIC, HELLO, 0, 0, 0, 0, 0))
        if pull.poll(1000):
            m = pull.recv()
            if struct.unpack_from("<II", m) == (CTL_MAGIC, WELCOME):
                session, _, sender = struct.unpack_from("<III", m, 8)
    files = {}      # run -> [file, next seq]
    while True:
        batch = [pull.recv()]
        while len(batch) < 512:
            try:
                batch.append(pull.recv(zmq.NOBLOCK))
            except zmq.Again:
                break
        acks = {}
        for m in batch:
            magic, run, ses, _, seq = struct.unpack_from("<IIIIQ", m)
            if magic != DATA_MAGIC or ses != session:
                continue
            payload = m[24:]
            if run not in files:
                if seq != 0:
                    continue
                path = os.path.join(st["dir"], "run-%06d-000.dkr" % run)
                files[run] = [open(path, "wb"), 0]
            f = files[run]
            if seq == f[1] and f[0] is not None:
                f[0].write(struct.pack("<II", len(payload), crc32c(payload)) + payload)
                f[1] += 1
                # the trailer's field number is 6: tag byte 0x32 opens the Record
                if payload[:1] == b"\x32":
                    f[0].flush()
                    os.fsync(f[0].fileno())
                    f[0].close()
                    f[0] = None
            if seq < f[1]:
                acks[run] = f[1] - 1
        for run, seq in acks.items():
            if files[run][0] is not None:
                files[run][0].flush()
            push.send(struct.pack("<IIIIIIQ", CTL_MAGIC, ACK, session, run, sender, 0, seq))


if __name__ == "__main__":
    main()

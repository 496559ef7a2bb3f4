"""A stand-in for darkdaq-store in the live tests, until the real one is
built: same command line (-c FILE with [store] dir, data, ack), same storage
protocol (daemon/storage_proto.h) and same run files (run-NNNNNN-000.dkr,
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

DATA_MAGIC = 0x4D534B44
ACK_MAGIC = 0x41534B44
HELLO, ACK = 1, 2


def main():
    assert sys.argv[1] == "-c"
    cp = configparser.ConfigParser()
    cp.read(sys.argv[2])
    st = cp["store"]
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.connect(st["data"])
    push = ctx.socket(zmq.PUSH)
    push.connect(st["ack"])
    push.send(struct.pack("<IIIIQ", ACK_MAGIC, HELLO, 0, 0, 0))
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
            magic, run, seq = struct.unpack_from("<IIQ", m)
            assert magic == DATA_MAGIC
            payload = m[16:]
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
            push.send(struct.pack("<IIIIQ", ACK_MAGIC, ACK, run, 0, seq))


if __name__ == "__main__":
    main()

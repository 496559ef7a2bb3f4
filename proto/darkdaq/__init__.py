# SPDX-License-Identifier: Apache-2.0
"""darkdaq: darkdaq's run files and monitor stream in Python.

    import darkdaq
    ev = darkdaq.events("store/", columns=["run", "trigger", "zprime_invisible",
                                             "zprime_invisible_recoil_m_gev"])
    m = ev["zprime_invisible_recoil_m_gev"][ev["zprime_invisible"]]

events() gives one row per event as a numpy structured array (a pandas
DataFrame with as_pandas=True); tables() adds the repeated quantities, keyed
by (run, trigger); read_run() yields every record; subscribe() reads the
monitor stream.  Framing, CRC-32C and the event columns are decoded in C
(darkdaq._fast); files are read in pieces, so memory stays bounded by the
output, never by the file.  The formats are described in the package's
README (proto/README.md in the darkdaq repository).
"""

import glob
import os

import numpy as np

try:
    from . import _fast
except ImportError as e:
    raise ImportError(f"darkdaq: its C extension darkdaq._fast is not built next to "
                      f"{os.path.dirname(__file__)}: install the package with "
                      f"pip install --no-build-isolation ./proto (or use make's "
                      f"build/python)") from e
from . import darkdaq_pb2

__all__ = ["DarkdaqError", "RunFileError", "DuplicateTriggerError", "Record", "RunFile",
           "run_files", "read_run", "events", "tables", "columns", "crc32c", "tag_counts",
           "subscribe", "TAGS", "STATUS"]

MAX_RECORD = 256 << 20          # larger frame lengths are not believed
_CHUNK = 16 << 20               # bytes read at a time
_CHUNK_EVENTS = 65536           # rows decoded per call

KINDS = {0: None, 1: "run_header", 2: "event", 3: "late", 4: "junk", 5: "corrupt",
         6: "run_trailer"}
TAGS = tuple(f.name for f in darkdaq_pb2.Tags.DESCRIPTOR.fields)
STATUS = tuple(darkdaq_pb2.Status.Name(i)[len("STATUS_"):].lower()
               for i in range(len(darkdaq_pb2.Status.keys())))

_EV_SIZE, _EV_FIELDS, _VAL_SIZE, _DV_SIZE = _fast.layout()
EVENT_DTYPE = np.dtype({"names": [f[0] for f in _EV_FIELDS],
                        "formats": [f[1] for f in _EV_FIELDS],
                        "offsets": [f[2] for f in _EV_FIELDS],
                        "itemsize": _EV_SIZE})
_VAL_DTYPE = np.dtype({"names": ["value", "run", "trigger", "index", "list"],
                       "formats": ["<f8", "<u4", "<u4", "<u4", "<u4"],
                       "offsets": [0, 8, 12, 16, 20], "itemsize": _VAL_SIZE})
_DV_NAMES = ["r_xy_cm", "z_cm", "doca_cm", "open_rad", "m_pipi_gev", "m_reduced_pipi_gev"]
_DV_DTYPE = np.dtype({"names": _DV_NAMES + ["run", "trigger", "index", "points_to_ip"],
                      "formats": ["<f8"] * 6 + ["<u4", "<u4", "<u4", "?"],
                      "offsets": [0, 8, 16, 24, 32, 40, 48, 52, 56, 60],
                      "itemsize": _DV_SIZE})
# The repeated doubles and id lists, by the list code columns.c writes.
_LISTS = {0: ("mumu_tautau_recoil_m_gev", "f8"), 1: ("four_muon_dimuon_m_gev", "f8"),
          2: ("three_photon_diphoton_m_gev", "f8"), 3: ("sources", "u4"),
          4: ("missing", "u4")}
TABLES = ("events",) + tuple(n for n, _ in _LISTS.values()) + ("displaced_vertex_candidates",)


def columns():
    """The names of events()'s columns, in order."""
    return list(EVENT_DTYPE.names)


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli) of data, continuing from crc (0 to start)."""
    return _fast.crc32c(data, crc)


class DarkdaqError(ValueError):
    """Bad input: the message names the file and the place."""


class RunFileError(DarkdaqError):
    """A frame that is cut, too long, fails its CRC or does not parse."""

    def __init__(self, path, offset, frame, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.offset = offset    # byte offset of the frame not read
        self.frame = frame      # its index, from 0
        self.reason = reason


class DuplicateTriggerError(DarkdaqError):
    """A (run, trigger) that appears more than once in what was read."""


def _stop_reason(stop, frame, pos):
    """The reason text of a damaged frame at file offset pos."""
    code, need, stored, computed = stop
    if code == 1:
        return (f"frame {frame} at byte {pos}: length {need} is above the "
                f"{MAX_RECORD}-byte limit")
    if code == 2:
        return (f"crc mismatch at frame {frame} offset {pos}: stored {stored:08x}, "
                f"computed {computed:08x}")
    if code == 3:
        return f"record does not parse at frame {frame} offset {pos}: empty frame"
    return f"record does not parse at frame {frame} offset {pos}"


def _cut_reason(buf, pos, base):
    """The reason text of a file that ends inside the frame at buf[pos:]."""
    left = len(buf) - pos
    if left < 8:
        return f"frame header cut at byte {base + pos}: 8 bytes needed, {left} present"
    n = int.from_bytes(buf[pos:pos + 4], "little")
    return f"frame cut at byte {base + pos}: header says {n} bytes, {left - 8} present"


class _Chunks:
    """A run file in pieces, read into one reused buffer (no fresh pages per
    piece): each piece is a memoryview whose byte 0 is at file offset base;
    it is valid only until the next piece is asked for."""

    def __init__(self, path):
        self.path = path

    def __iter__(self):
        with open(self.path, "rb", buffering=0) as f:
            buf = bytearray(_CHUNK)
            have = 0                    # bytes of buf in use
            base = 0
            while True:
                mv = memoryview(buf)
                while have < len(buf):  # fill the buffer, or reach the end
                    n = f.readinto(mv[have:])
                    if not n:
                        break
                    have += n
                eof = have < len(buf)
                piece = mv[:have]
                pos, need = yield base, piece, eof
                # the caller has taken pos bytes and needs need from there
                piece.release()
                mv.release()
                if eof:
                    return
                left = have - pos
                buf[:left] = buf[pos:have]
                have = left
                base += pos
                if need > len(buf):     # one frame larger than the buffer
                    buf.extend(bytes(need - len(buf)))


def _pieces(path):
    """(base, buf, eof) pieces; the generator is sent (pos, need) after each."""
    return iter(_Chunks(path))


class Record:
    """One record of a run file or the monitor stream, parsed only when
    looked into: kind ("event", "run_header", ...) and WhichOneof("body")
    need no parsing; any other attribute is the darkdaq_pb2.Record's."""

    __slots__ = ("payload", "kind", "offset", "_msg")

    def __init__(self, payload, kind, offset=None):
        self.payload = payload      # the serialized darkdaq.Record
        self.kind = kind
        self.offset = offset        # its frame's byte offset in its file
        self._msg = None

    @property
    def message(self):
        """The darkdaq_pb2.Record (parsed on first use)."""
        if self._msg is None:
            self._msg = darkdaq_pb2.Record.FromString(self.payload)
        return self._msg

    def WhichOneof(self, name):  # noqa: N802 (protobuf's name)
        if name == "body":
            return self.kind
        return self.message.WhichOneof(name)

    def SerializeToString(self):  # noqa: N802
        return bytes(self.payload)

    def __getattr__(self, name):
        return getattr(self.message, name)

    def __repr__(self):
        return f"<darkdaq.Record {self.kind} at {self.offset}>"


class RunFile:
    """Iterates the Records of one run file.

    After iteration: complete (True when the file ended on a frame boundary
    with a run trailer as its last record), stop_offset, frames and
    stop_reason (None when the frames ended cleanly) say where it stopped.
    With strict=True iteration raises RunFileError at a damaged frame, after
    yielding every record before it.
    """

    def __init__(self, path, strict=True):
        self.path = str(path)
        self.strict = strict
        self.complete = False
        self.frames = 0
        self.stop_offset = None
        self.stop_reason = None

    def __iter__(self):
        self.complete = False
        self.stop_reason = None
        frame = 0
        last = None
        gen = _pieces(self.path)
        try:
            base, buf, eof = next(gen)
            while True:
                found, pos, stop, need = _fast.frames(buf, 0)
                for off, n, kind in found:
                    last = KINDS.get(kind)
                    yield Record(bytes(buf[off:off + n]), last, base + off - 8)
                    frame += 1
                self.frames = frame
                if stop is not None:
                    return self._stop(_stop_reason(stop, frame, base + pos), base + pos)
                if eof and pos == len(buf):
                    break
                if eof:
                    return self._stop(_cut_reason(buf, pos, base), base + pos)
                base, buf, eof = gen.send((pos, need))
        finally:
            gen.close()
        self.stop_offset = base + len(buf)
        self.complete = last == "run_trailer"

    def _stop(self, reason, offset):
        self.stop_offset = offset
        self.stop_reason = reason
        if self.strict:
            raise RunFileError(self.path, offset, self.frames, reason)


def run_files(paths):
    """The run files named by paths (a file, a directory, or a list of
    either), in the order given; a directory gives its *.dkr files by name
    (run-NNNNNN-SSS.dkr: run, then rotation order)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(glob.escape(p), "*.dkr")))
            if not found:
                raise DarkdaqError(f"{p}: no run files (*.dkr) in this directory")
            out.extend(found)
        else:
            out.append(p)
    return out


def read_run(paths, strict=True):
    """Yields every Record of the run files named by paths (see run_files()),
    one file after another, each CRC-checked.  Raises RunFileError at the
    first damaged frame (after yielding all before it) unless strict is
    False, in which case that file ends there and the next one is read."""
    for path in run_files(paths):
        yield from RunFile(path, strict=strict)


def _decode_file(path, strict, fileno):
    """(events, values, dv, file index) arrays of one run file, piece by
    piece; the arrays are views of buffers reused for the next piece."""
    run = 0
    frame = 0
    ev = np.empty(_CHUNK_EVENTS, EVENT_DTYPE)
    val = np.empty(8 * _CHUNK_EVENTS, _VAL_DTYPE)
    dv = np.empty(_CHUNK_EVENTS // 4, _DV_DTYPE)
    gen = _pieces(path)
    try:
        base, buf, eof = next(gen)
        pos = 0
        while True:
            pos, run, nf, n, nv, nd, stop, need, full = _fast.decode(buf, pos, run, ev, val, dv)
            frame += nf
            if n:
                yield ev[:n], val[:nv], dv[:nd], fileno
            if full:
                if n == 0:              # one event bigger than the buffers
                    val = np.empty(2 * len(val), _VAL_DTYPE)
                    dv = np.empty(2 * len(dv), _DV_DTYPE)
                continue
            if stop is not None:
                reason = _stop_reason(stop, frame, base + pos)
            elif eof and pos == len(buf):
                return
            elif eof:
                reason = _cut_reason(buf, pos, base)
            else:
                base, buf, eof = gen.send((pos, need))
                pos = 0
                continue
            if strict:
                raise RunFileError(path, base + pos, frame,
                                   reason + " (strict=False reads up to here)")
            return
    finally:
        gen.close()


def _lists_to_tables(vals, dvs):
    out = {}
    lists = vals["list"] if len(vals) else np.zeros(0, "u4")
    for code, (name, kind) in _LISTS.items():
        sel = vals[lists == code]
        vname = "source" if name in ("sources", "missing") else "value"
        t = np.empty(len(sel), dtype=[("run", "<u4"), ("trigger", "<u4"), ("index", "<u4"),
                                      (vname, "<" + kind)])
        t["run"], t["trigger"], t["index"] = sel["run"], sel["trigger"], sel["index"]
        t[vname] = sel["value"]
        out[name] = t
    t = np.empty(len(dvs), dtype=[("run", "<u4"), ("trigger", "<u4"), ("index", "<u4")] +
                 [(n, "<f8") for n in _DV_NAMES] + [("points_to_ip", "?")])
    for n in t.dtype.names:
        t[n] = dvs[n]
    out["displaced_vertex_candidates"] = t
    return out


def _check_columns(cols):
    if cols is None:
        return None
    cols = list(cols)
    bad = [c for c in cols if c not in EVENT_DTYPE.names]
    if bad:
        raise ValueError(f"unknown column(s) {', '.join(map(repr, bad))}; "
                         f"columns are: {', '.join(EVENT_DTYPE.names)}")
    return cols


def _select(arr, cols):
    """A compact copy of the chosen columns (all when cols is None)."""
    if cols is None:
        return arr.copy()       # the C rows as they are: one copy, not one per column
    out = np.empty(len(arr), dtype=[(c, EVENT_DTYPE.fields[c][0]) for c in cols])
    for c in cols:
        out[c] = arr[c]
    return out


def _check_unique(keys_run, keys_trig, fileidx, files):
    key = keys_run.astype(np.uint64) << np.uint64(32) | keys_trig.astype(np.uint64)
    uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
    if len(uniq) == len(key):
        return
    k = int(np.argmax(counts > 1))
    dup = uniq[k]
    where = np.nonzero(key == dup)[0]
    names = sorted({files[fileidx[i]] for i in where})
    raise DuplicateTriggerError(
        f"trigger {int(dup) & 0xFFFFFFFF} of run {int(dup) >> 32} appears {len(where)} times "
        f"(rows {', '.join(str(int(i)) for i in where[:4])}) in {', '.join(names)}; "
        f"{int((counts > 1).sum())} triggers in all appear more than once")


def tables(paths, columns=None, as_pandas=False, strict=True, check_unique=True):
    """Every table of the run files named by paths, read as one run in
    order: a dict with "events" (one row per event, as events()), and the
    repeated quantities keyed by (run, trigger, index):
    "mumu_tautau_recoil_m_gev", "four_muon_dimuon_m_gev",
    "three_photon_diphoton_m_gev" (column value), "sources", "missing"
    (column source) and "displaced_vertex_candidates".

    Raises RunFileError at a damaged frame (strict=False: that file's rows
    up to it are kept and the next file is read) and DuplicateTriggerError
    when a (run, trigger) is in more than one event."""
    cols = _check_columns(columns)
    files = run_files(paths)
    evs, vals, dvs, idx = [], [], [], []
    for i, path in enumerate(files):
        for ev, val, dv, fileno in _decode_file(path, strict, i):
            evs.append(_select(ev, cols))
            vals.append(val.copy())
            dvs.append(dv.copy())
            if check_unique:
                idx.append((ev["run"].copy(), ev["trigger"].copy(),
                            np.full(len(ev), fileno, np.uint32)))
    dt = EVENT_DTYPE if cols is None else np.dtype([(c, EVENT_DTYPE.fields[c][0]) for c in cols])
    out = {"events": np.concatenate(evs) if evs else np.empty(0, dt)}
    if check_unique and idx:
        _check_unique(np.concatenate([a for a, _, _ in idx]),
                      np.concatenate([b for _, b, _ in idx]),
                      np.concatenate([c for _, _, c in idx]), files)
    del idx
    out.update(_lists_to_tables(np.concatenate(vals) if vals else np.empty(0, _VAL_DTYPE),
                                np.concatenate(dvs) if dvs else np.empty(0, _DV_DTYPE)))
    if as_pandas:
        out = {k: _to_pandas(v) for k, v in out.items()}
    return out


def _to_pandas(arr):
    import pandas as pd
    df = pd.DataFrame({n: arr[n] for n in arr.dtype.names})
    if "tau_1x3_lepton" in df:
        df["tau_1x3_lepton"] = df["tau_1x3_lepton"].str.decode("ascii")
    return df


def events(paths, columns=None, as_pandas=False, strict=True, check_unique=True):
    """One row per event of the run files named by paths (a file, a
    directory of them, or a list), read as one run in storage order.

    Columns (columns() lists them; columns=[...] picks some): run, trigger
    (uint32), time_ticks (uint64), trigger_bits; one boolean per status flag
    (complete, incomplete, duplicate, corrupt, time_mismatch, truncated,
    busy_seen, test_pattern); n_sources, n_missing, n_fragments; the event
    scalars as stored (0 when absent): n_tracks, charge_sum, n_photons,
    e_extra_gev, e_miss_gev; then per tag a boolean named after it and its
    quantities as float64, NaN where it did not fire, named TAG_QUANTITY
    (zprime_invisible_recoil_m2_gev2, and zprime_invisible_recoil_m_gev =
    sqrt(max(m2, 0)); the same for single_photon); tau_1x3_lepton is bytes
    (b"" when not fired); the repeated quantities' counts are TAG_n, their
    values in tables().  as_pandas=True gives a pandas DataFrame.

    Errors: RunFileError at a damaged frame (strict=False keeps the rows
    before it), DuplicateTriggerError when a (run, trigger) repeats."""
    cols = _check_columns(columns)
    files = run_files(paths)
    parts, idx = [], []
    for i, path in enumerate(files):
        for ev, _val, _dv, fileno in _decode_file(path, strict, i):
            parts.append(_select(ev, cols))
            if check_unique:
                idx.append((ev["run"].copy(), ev["trigger"].copy(),
                            np.full(len(ev), fileno, np.uint32)))
    if check_unique and idx:
        _check_unique(np.concatenate([a for a, _, _ in idx]),
                      np.concatenate([b for _, b, _ in idx]),
                      np.concatenate([c for _, _, c in idx]), files)
    del idx
    dt = EVENT_DTYPE if cols is None else np.dtype([(c, EVENT_DTYPE.fields[c][0]) for c in cols])
    out = np.concatenate(parts) if parts else np.empty(0, dt)
    return _to_pandas(out) if as_pandas else out


def tag_counts(records):
    """Events per tag name, and the number of events, over records."""
    counts = {name: 0 for name in TAGS}
    n = 0
    for rec in records:
        if rec.WhichOneof("body") != "event":
            continue
        n += 1
        for field, _ in rec.event.tags.ListFields():
            counts[field.name] += 1
    return counts, n


def _read_key(path, which):
    """The Z85 key of kind which ("public-key" or "secret-key") in a key file
    as darkdaq-keygen writes it (lines KEY = "Z85", '#' comments, or a bare
    40-character line)."""
    with open(path, encoding="ascii", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):     # '#' is also a Z85 character
                continue
            if "=" in line:
                k, v = (s.strip() for s in line.split("=", 1))
                if k == which:
                    v = v.strip('"')
                    if len(v) != 40:
                        raise DarkdaqError(f"{path}:{n}: {which} is not a 40-character Z85 key")
                    return v.encode()
            elif which == "public-key" and len(line) == 40:
                return line.encode()
    raise DarkdaqError(f"{path}: no {which} in this key file")


def subscribe(endpoint, tags=None, client_key=None, server_public_key=None,
              timeout_ms=None, context=None):
    """Yields (topic, Record) from darkdaq's monitor stream at endpoint.

    The stream is ZeroMQ PUB/SUB of two-part messages: the topic, then one
    serialized darkdaq.Record (an event).  Topic "all" carries every event
    the daemon samples; each tag's name (as in TAGS) carries the events that
    fired it, prescaled per tag.  tags=None subscribes to "all"; otherwise to
    each tag named.  With client_key (this subscriber's secret key file) and
    server_public_key (the daemon's public key file) the connection uses
    CURVE.  timeout_ms: raise TimeoutError when nothing arrives for that
    long (None waits for ever).  Needs pyzmq (python3-zmq)."""
    import zmq
    topics = ["all"] if tags is None else list(tags)
    bad = [t for t in topics if t != "all" and t not in TAGS]
    if bad:
        raise ValueError(f"unknown tag(s) {', '.join(map(repr, bad))}; "
                         f"tags are: {', '.join(TAGS)} (or 'all')")
    if (client_key is None) != (server_public_key is None):
        raise ValueError("CURVE needs both client_key and server_public_key")
    ctx = context or zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        if client_key is not None:
            secret = _read_key(client_key, "secret-key")
            sock.curve_secretkey = secret
            sock.curve_publickey = zmq.curve_public(secret)
            sock.curve_serverkey = _read_key(server_public_key, "public-key")
        for t in topics:
            sock.setsockopt(zmq.SUBSCRIBE, t.encode())
        sock.connect(endpoint)
        while True:
            if timeout_ms is not None and not sock.poll(timeout_ms):
                raise TimeoutError(f"{endpoint}: no monitor message for {timeout_ms} ms")
            parts = sock.recv_multipart()
            if len(parts) != 2:
                continue        # not a monitor message: nothing in it to trust
            topic = parts[0].decode("ascii", "replace")
            body = parts[1]
            yield topic, Record(body, KINDS.get(_fast.kind(body)))
    finally:
        sock.close()

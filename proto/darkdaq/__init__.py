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

__all__ = ["DarkdaqError", "RunFileError", "DuplicateTriggerError", "Damage", "Record", "RunFile",
           "run_files", "read_run", "events", "tables", "columns", "crc32c", "tag_counts",
           "subscribe", "TAGS", "STATUS"]

MAX_RECORD = 256 << 20          # larger frame lengths are not believed
NO_SEQ = (1 << 64) - 1          # a v2 frame's seq when its record carries none
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
    """Damage in a run file: a frame cut, too long, failing its CRC or not
    parsing, a seq missing or twice, a misplaced header or trailer.  Raised
    once every good record has been read; offset and reason are the first
    damage's, damage lists all of it (Damage)."""

    def __init__(self, path, offset, frame, reason, damage=()):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.offset = offset    # byte offset of the first damage
        self.frame = frame      # frames read
        self.reason = reason
        self.damage = list(damage)


class DuplicateTriggerError(DarkdaqError):
    """A (run, trigger) that appears more than once in what was read."""


class Damage(tuple):
    """One thing a reader found wrong and went past: path, offset (where the
    damage begins, or the frame concerned), kind ("skipped", "seq_gap",
    "duplicate", "resync_seq", "second_header", "early_trailer", "count",
    "end"), skipped (bytes skipped, for "skipped") and reason (for people)."""

    __slots__ = ()
    _fields = ("path", "offset", "kind", "skipped", "reason")

    def __new__(cls, path, offset, kind, skipped, reason):
        return tuple.__new__(cls, (path, offset, kind, skipped, reason))

    path = property(lambda self: self[0])
    offset = property(lambda self: self[1])
    kind = property(lambda self: self[2])
    skipped = property(lambda self: self[3])
    reason = property(lambda self: self[4])

    def __repr__(self):
        return f"Damage({self.path!r}, {self.offset}, {self.kind!r}, {self.skipped}, {self.reason!r})"


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
    if code == 6:
        return f"no frame sync word at byte {pos}"
    return f"record does not parse at frame {frame} offset {pos}"


def _cut_reason(buf, pos, base, hb=8):
    """The reason text of a file that ends inside the frame at buf[pos:]."""
    left = len(buf) - pos
    if left < hb:
        return f"frame header cut at byte {base + pos}: {hb} bytes needed, {left} present"
    n = int.from_bytes(buf[pos + (hb == 24) * 4:pos + (hb == 24) * 4 + 4], "little")
    return f"frame cut at byte {base + pos}: header says {n} bytes, {left - hb} present"


def _file_version(buf):
    """(version, offset of the first frame, reason or None, note or None) from
    a file's first bytes: version 2 by its magic "DKRN" (or, the magic
    damaged, by a frame sync word after it), else version 1."""
    head = bytes(buf[:12])
    if head[:4] == b"DKRN":
        if len(head) < 8:
            return 2, 0, f"file header cut: {len(head)} of 8 bytes", None
        v = int.from_bytes(head[4:8], "little")
        if v != 2:
            return 2, 0, f"run file format version {v} is not one this reader knows (1, 2)", None
        return 2, 8, None, None
    if len(head) >= 12 and head[8:12] == b"DKRS":
        return 2, 8, None, ("file header damaged (not DKRN version 2) but a frame sync "
                            "word follows it: read as version 2")
    return 1, 0, None, None


class _Seqs:
    """Seq expectations per sender over the files of one read (as the C
    reader keeps them, daemon/runfile.c): a seq read already is a duplicate
    (not returned), one ahead a gap; one found after damage that is not the
    one expected is reported and believed only when the next frame follows
    it; a run header with seq 0 starts its sender afresh."""

    def __init__(self):
        self.s = {}             # sender -> [next, pending]

    def check(self, rf, offset, sender, seq, is_header, resynced):
        """Whether to return the frame; reports go to rf._report()."""
        if seq == NO_SEQ:
            return True
        st = self.s.get(sender)
        if st is None or (is_header and seq == 0):
            self.s[sender] = [seq + 1, NO_SEQ]
            return True
        want, pending = st
        st[1] = NO_SEQ
        if pending != NO_SEQ and seq == pending + 1:
            st[0] = seq + 1
            return True
        if seq < want:
            rf._report(offset, "duplicate", 0,
                       f"frame at byte {offset} carries seq {seq} of sender {sender}, read "
                       f"already ({want} expected): not returned again")
            return False
        if seq > want and resynced:
            rf._report(offset, "resync_seq", 0,
                       f"frame found after damage at byte {offset} carries seq {seq} of sender "
                       f"{sender}, {want} expected: seqs {want}..{seq - 1} missing, or this "
                       f"frame is not one the writer wrote")
            st[1] = seq
            return True
        if seq > want:
            rf._report(offset, "seq_gap", 0,
                       f"seqs {want}..{seq - 1} of sender {sender} missing before the frame "
                       f"at byte {offset}")
        st[0] = seq + 1
        return True


def _resync(gen, base, buf, eof, pos, version):
    """Looks for the next good frame after the damaged one at buf[pos:] (the
    earliest one, every offset tried), reading on as needed.  Returns
    (offset in buf or -1 at the end of the file, base, buf, eof)."""
    scan = pos + 1
    while True:
        off, keep, need = _fast.resync(buf, scan, version)
        if off >= 0 or eof:
            return off, base, buf, eof
        base, buf, eof = gen.send((keep, need))
        scan = 0


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
    """Iterates the Records of one run file (version 1 or 2).

    A damaged frame does not end the file: it is reported and reading goes
    on at the next good frame (sync word, length and CRC agreeing, any byte
    offset).  Seqs (version 2) are checked: a duplicate is reported and
    returned once, a gap reported; so are a second run header, a frame after
    a run trailer and a trailer whose record count differs from what was
    read.  After iteration: damage (a list of Damage), complete (True when
    the file ended on a frame boundary with a run trailer as its last record
    and nothing was damaged), stop_offset, frames and stop_reason (None when
    the frames ended cleanly) say where it stopped.  With strict=True
    iteration raises RunFileError for the first damage once every good
    record has been yielded.
    """

    def __init__(self, path, strict=True, seqs=None):
        self.path = str(path)
        self.strict = strict
        self.complete = False
        self.frames = 0
        self.stop_offset = None
        self.stop_reason = None
        self.damage = []
        self.version = None
        self._seqs = seqs if seqs is not None else _Seqs()

    def _report(self, offset, kind, skipped, reason):
        self.damage.append(Damage(self.path, offset, kind, skipped, reason))

    def __iter__(self):
        self.complete = False
        self.stop_reason = None
        self.damage = []
        frame = returned = 0
        last = None
        after_trailer = None
        resynced = False
        gen = _pieces(self.path)
        try:
            base, buf, eof = next(gen)
            version, pos, err, note = _file_version(buf)
            self.version = version
            if err:
                self._stop(err, 0)
                return
            if note:
                self._report(0, "skipped", 8, note)
            hb = 8 if version == 1 else 24
            while True:
                found, pos, stop, need = _fast.frames(buf, pos, version)
                for off, n, kind, sender, seq in found:
                    k = KINDS.get(kind)
                    fo = base + off - hb
                    frame += 1
                    keep = self._seqs.check(self, fo, sender, seq, k == "run_header", resynced)
                    resynced = False
                    if not keep:
                        continue
                    rec = Record(bytes(buf[off:off + n]), k, fo)
                    if after_trailer is not None:
                        self._report(after_trailer, "early_trailer", 0,
                                     f"run trailer at byte {after_trailer} is not the last "
                                     f"frame: a frame follows at byte {fo}")
                        after_trailer = None
                    if k == "run_header" and returned > 0:
                        self._report(fo, "second_header", 0,
                                     f"second run header at byte {fo} (frame {frame - 1})")
                    if k == "run_trailer":
                        after_trailer = fo
                        want = rec.run_trailer.records_in_file
                        if want and want != returned + 1:
                            self._report(fo, "count", 0,
                                         f"run trailer at byte {fo} counts {want} records in "
                                         f"the file, {returned + 1} read")
                    returned += 1
                    last = k
                    yield rec
                self.frames = frame
                if stop is None:
                    if eof and pos == len(buf):
                        break
                    if not eof:
                        base, buf, eof = gen.send((pos, need))
                        pos = 0
                        continue
                    reason = _cut_reason(buf, pos, base, hb)
                else:
                    reason = _stop_reason(stop, frame, base + pos)
                bad = base + pos
                off, base, buf, eof = _resync(gen, base, buf, eof, pos, version)
                if off < 0:
                    self._stop(reason, bad)
                    return
                skipped = base + off - bad
                self._report(bad, "skipped", skipped,
                             f"{reason}; {skipped} bytes skipped to the next good frame at "
                             f"byte {base + off}")
                pos = off
                resynced = True
        finally:
            gen.close()
        self.stop_offset = base + len(buf)
        self.complete = last == "run_trailer" and not self.damage
        if self.strict and self.damage:
            d = self.damage[0]
            raise RunFileError(self.path, d.offset, self.frames, d.reason, self.damage)

    def _stop(self, reason, offset):
        self.stop_offset = offset
        self.stop_reason = reason
        if self.strict:
            damage = self.damage + [Damage(self.path, offset, "end", 0, reason)]
            d = damage[0]
            raise RunFileError(self.path, d.offset, self.frames, d.reason, damage)


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
    one file after another, each CRC-checked, past any damage (see RunFile);
    seqs are checked across the files.  Raises RunFileError for the first
    damage of a file once all of its good records have been yielded, unless
    strict is False, in which case the next file is read."""
    seqs = _Seqs()
    for path in run_files(paths):
        yield from RunFile(path, strict=strict, seqs=seqs)


class _Decoder:
    """Damage reports of _decode_file()."""

    def __init__(self, path):
        self.path = path
        self.damage = []

    def _report(self, offset, kind, skipped, reason):
        self.damage.append(Damage(self.path, offset, kind, skipped, reason))


def _decode_file(path, strict, fileno, seqs=None, damage=None):
    """(events, values, dv, file index) arrays of one run file, piece by
    piece, past any damage (as RunFile reads it; the reports are appended to
    damage); the arrays are views of buffers reused for the next piece."""
    run = 0
    frame = 0
    seqs = seqs if seqs is not None else _Seqs()
    dec = _Decoder(path)
    ev = np.empty(_CHUNK_EVENTS, EVENT_DTYPE)
    val = np.empty(8 * _CHUNK_EVENTS, _VAL_DTYPE)
    dv = np.empty(_CHUNK_EVENTS // 4, _DV_DTYPE)
    gen = _pieces(path)
    final = None
    try:
        base, buf, eof = next(gen)
        version, pos, err, note = _file_version(buf)
        if err:
            final = (0, err)
            eof, pos, buf = True, 0, b""        # nothing to read
        if note:
            dec._report(0, "skipped", 8, note)
        hb = 8 if version == 1 else 24
        cur = None                      # the sender decode() follows
        forced = None                   # a seq decode() is told to take as it is
        resynced = False
        while True:
            if forced is not None:
                exp = forced
            elif cur is not None and cur in seqs.s:
                exp = seqs.s[cur][0]
            else:
                exp = NO_SEQ
            (pos, run, nf, n, nv, nd, stop, need, full, exp_out,
             snd_out) = _fast.decode(buf, pos, run, ev, val, dv, version, cur or 0, exp)
            frame += nf
            if nf and exp_out != NO_SEQ and exp_out != exp:
                if not (forced is not None and exp_out == forced + 1):
                    seqs.s[snd_out] = [exp_out, NO_SEQ]
                cur = snd_out
            if nf:
                forced = None
                resynced = False
            if n:
                yield ev[:n], val[:nv], dv[:nd], fileno
            if full:
                if n == 0:              # one event bigger than the buffers
                    val = np.empty(2 * len(val), _VAL_DTYPE)
                    dv = np.empty(2 * len(dv), _DV_DTYPE)
                continue
            if stop is not None and stop[0] == 5:       # a seq not the one expected
                h = bytes(buf[pos:pos + 24])
                sender = int.from_bytes(h[8:12], "little")
                seq = int.from_bytes(h[12:20], "little")
                ln = int.from_bytes(h[4:8], "little")
                is_header = _fast.kind(bytes(buf[pos + 24:pos + 24 + ln])) == 1
                if seqs.check(dec, base + pos, sender, seq, is_header, resynced):
                    forced = seq
                    cur = sender
                else:
                    pos += 24 + ln
                    frame += 1
                resynced = False
                continue
            if stop is not None:
                reason = _stop_reason(stop, frame, base + pos)
            elif eof and pos == len(buf):
                break
            elif eof:
                reason = _cut_reason(buf, pos, base, hb)
            else:
                base, buf, eof = gen.send((pos, need))
                pos = 0
                continue
            bad = base + pos
            off, base, buf, eof = _resync(gen, base, buf, eof, pos, version)
            if off < 0:
                final = (bad, reason)
                break
            skipped = base + off - bad
            dec._report(bad, "skipped", skipped,
                        f"{reason}; {skipped} bytes skipped to the next good frame at "
                        f"byte {base + off}")
            pos = off
            resynced = True
    finally:
        gen.close()
    if final is not None:
        dec._report(final[0], "end", 0, final[1])
    if damage is not None:
        damage.extend(dec.damage)
    if strict and dec.damage:
        d = dec.damage[0]
        raise RunFileError(path, d.offset, frame,
                           d.reason + " (strict=False reads past it)", dec.damage)


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


def tables(paths, columns=None, as_pandas=False, strict=True, check_unique=True,
           damage=None):
    """Every table of the run files named by paths, read as one run in
    order: a dict with "events" (one row per event, as events()), and the
    repeated quantities keyed by (run, trigger, index):
    "mumu_tautau_recoil_m_gev", "four_muon_dimuon_m_gev",
    "three_photon_diphoton_m_gev" (column value), "sources", "missing"
    (column source) and "displaced_vertex_candidates".

    Damage is read past (see RunFile): RunFileError names the first once a
    damaged file has been read (strict=False: every good row is kept, the
    reports are in the damage list given, if any); DuplicateTriggerError
    when a (run, trigger) is in more than one event."""
    cols = _check_columns(columns)
    files = run_files(paths)
    evs, vals, dvs, idx = [], [], [], []
    seqs = _Seqs()
    for i, path in enumerate(files):
        for ev, val, dv, fileno in _decode_file(path, strict, i, seqs, damage):
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


def events(paths, columns=None, as_pandas=False, strict=True, check_unique=True,
           damage=None):
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

    Damage is read past (see RunFile): a bad frame is skipped to the next
    good one, a duplicated seq returned once.  Errors: RunFileError naming
    the first damage once the damaged file has been read (strict=False keeps
    every good row; pass a list as damage to get the reports, Damage),
    DuplicateTriggerError when a (run, trigger) repeats."""
    cols = _check_columns(columns)
    files = run_files(paths)
    parts, idx = [], []
    seqs = _Seqs()
    for i, path in enumerate(files):
        for ev, _val, _dv, fileno in _decode_file(path, strict, i, seqs, damage):
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

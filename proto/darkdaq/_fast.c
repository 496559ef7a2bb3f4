/* SPDX-License-Identifier: Apache-2.0 */
/* _fast: the darkdaq package's C extension, a thin binding of columns.c:
 * CRC-32C, run-file frames and event rows as bytes the Python side views
 * with numpy.  It holds no state between calls and does no I/O. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>

#include "columns.h"

static PyObject *s_crc32c(PyObject *self, PyObject *args)
{
        Py_buffer b;
        unsigned long crc = 0;
        (void)self;
        if (!PyArg_ParseTuple(args, "y*|k", &b, &crc))
                return NULL;
        uint32_t c;
        Py_BEGIN_ALLOW_THREADS
        c = columns_crc32c((uint32_t)crc, b.buf, (size_t)b.len);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&b);
        return PyLong_FromUnsignedLong(c);
}

/* (code, need, stored, computed) of a stop, or None for "more". */
static PyObject *s_stop(enum columns_stop stop, size_t need, uint32_t stored, uint32_t computed)
{
        if (stop == COLUMNS_MORE)
                Py_RETURN_NONE;
        return Py_BuildValue("(inkk)", (int)stop, (Py_ssize_t)need, (unsigned long)stored,
                             (unsigned long)computed);
}

/* kind(payload) -> the Record's kind code (columns.h), -1 when broken */
static PyObject *s_kind(PyObject *self, PyObject *args)
{
        Py_buffer b;
        const uint8_t *body;
        size_t bn;
        (void)self;
        if (!PyArg_ParseTuple(args, "y*", &b))
                return NULL;
        int k = columns_record_body(b.buf, (size_t)b.len, &body, &bn);
        PyBuffer_Release(&b);
        return PyLong_FromLong(k);
}

/* One frame of either version. */
static int s_frame(unsigned version, const uint8_t *buf, size_t len, const uint8_t **pl,
                   size_t *pn, size_t *fl, enum columns_stop *stop, size_t *need,
                   uint32_t *stored, uint32_t *computed, uint32_t *sender, uint64_t *seq)
{
        if (version == 1) {
                *sender = 0;
                *seq = COLUMNS_NO_SEQ;
                return columns_frame_v1(buf, len, pl, pn, fl, stop, need, stored, computed);
        }
        return columns_frame_v2(buf, len, pl, pn, fl, stop, need, stored, computed, sender, seq);
}

/* frames(buf, pos, version=1) -> ([(payload_offset, payload_len, kind, sender, seq), ...],
 * pos, stop, need) */
static PyObject *s_frames(PyObject *self, PyObject *args)
{
        Py_buffer b;
        Py_ssize_t pos;
        unsigned version = 1;
        (void)self;
        if (!PyArg_ParseTuple(args, "y*n|I", &b, &pos, &version))
                return NULL;
        PyObject *list = PyList_New(0);
        enum columns_stop stop = COLUMNS_MORE;
        size_t need = 0;
        uint32_t stored = 0, computed = 0;
        const uint8_t *base = b.buf;
        while (list && pos <= b.len) {
                const uint8_t *pl;
                size_t pn, fl;
                uint32_t sender;
                uint64_t seq;
                int r = s_frame(version, base + pos, (size_t)(b.len - pos), &pl, &pn, &fl, &stop,
                                &need, &stored, &computed, &sender, &seq);
                if (r <= 0)
                        break;
                const uint8_t *body;
                size_t bn;
                int kind = columns_record_body(pl, pn, &body, &bn);
                if (kind < 0) {
                        stop = COLUMNS_BAD_RECORD;
                        break;
                }
                PyObject *t = Py_BuildValue("(nnikK)", (Py_ssize_t)(pl - base), (Py_ssize_t)pn,
                                            kind, (unsigned long)sender,
                                            (unsigned long long)seq);
                if (!t || PyList_Append(list, t) < 0) {
                        Py_XDECREF(t);
                        Py_CLEAR(list);
                        break;
                }
                Py_DECREF(t);
                pos += (Py_ssize_t)fl;
        }
        PyBuffer_Release(&b);
        if (!list)
                return NULL;
        PyObject *st = s_stop(stop, need, stored, computed);
        return Py_BuildValue("(NnNn)", list, pos, st, (Py_ssize_t)need);
}

/* resync(buf, from, version) -> (offset or -1, keep, need) */
static PyObject *s_resync(PyObject *self, PyObject *args)
{
        Py_buffer b;
        Py_ssize_t from;
        unsigned version;
        size_t keep = 0, need = 0;
        long r;
        (void)self;
        if (!PyArg_ParseTuple(args, "y*nI", &b, &from, &version))
                return NULL;
        Py_BEGIN_ALLOW_THREADS
        r = columns_resync(version, b.buf, (size_t)b.len, (size_t)from, &keep, &need);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&b);
        return Py_BuildValue("(lnn)", r, (Py_ssize_t)keep, (Py_ssize_t)need);
}

/* decode(buf, pos, run, events, values, dv, version=1, sender=0, seq=NO_SEQ) ->
 * (pos, run, n_frames, n_events, n_values, n_dv, stop, need, full, seq): every
 * whole frame from pos into the writable buffers given (rows of columns_event,
 * columns_value, columns_dv), until the buffer's end, a damaged frame, a v2
 * frame whose (sender, seq) is not (sender, seq) expected (stop COLUMNS_SEQ;
 * seq NO_SEQ expects anything; a run header with seq 0 starts afresh), or
 * (full) no room for the next event.  seq, sender out: the ones expected next. */
static PyObject *s_decode(PyObject *self, PyObject *args)
{
        Py_buffer b, be, bv, bd;
        Py_ssize_t pos;
        unsigned long run_in;
        unsigned version = 1;
        unsigned long exp_sender = 0;
        unsigned long long exp_seq = COLUMNS_NO_SEQ;
        (void)self;
        if (!PyArg_ParseTuple(args, "y*nkw*w*w*|IkK", &b, &pos, &run_in, &be, &bv, &bd,
                              &version, &exp_sender, &exp_seq))
                return NULL;
        struct columns_event *ev = be.buf;
        size_t n_ev = 0, cap_ev = (size_t)be.len / sizeof *ev;
        struct columns_out out = {
                .values = bv.buf, .cap_values = (size_t)bv.len / sizeof(struct columns_value),
                .dv = bd.buf, .cap_dv = (size_t)bd.len / sizeof(struct columns_dv),
        };
        uint32_t run = (uint32_t)run_in;
        enum columns_stop stop = COLUMNS_MORE;
        size_t need = 0;
        uint32_t stored = 0, computed = 0;
        int full = 0;
        Py_ssize_t n_frames = 0;
        const uint8_t *base = b.buf;

        Py_BEGIN_ALLOW_THREADS
        while (pos <= b.len) {
                const uint8_t *pl, *body;
                size_t pn, fl, bn;
                uint32_t sender;
                uint64_t seq;
                int r = s_frame(version, base + pos, (size_t)(b.len - pos), &pl, &pn, &fl, &stop,
                                &need, &stored, &computed, &sender, &seq);
                if (r <= 0)
                        break;
                int k = columns_record_body(pl, pn, &body, &bn);
                if (k < 0) {
                        stop = COLUMNS_BAD_RECORD;
                        break;
                }
                if (seq != COLUMNS_NO_SEQ && !(k == COLUMNS_RUN_HEADER && seq == 0) &&
                    exp_seq != COLUMNS_NO_SEQ && (seq != exp_seq || sender != exp_sender)) {
                        stop = COLUMNS_SEQ;
                        break;
                }
                if (k == COLUMNS_RUN_HEADER && columns_run_header(body, bn, &run) < 0) {
                        stop = COLUMNS_BAD_RECORD;
                        break;
                }
                if (k == COLUMNS_EVENT) {
                        if (n_ev == cap_ev) {
                                full = 1;
                                break;
                        }
                        int e = columns_event_decode(body, bn, run, &ev[n_ev], &out);
                        if (e == -ENOSPC) {
                                full = 1;
                                break;
                        }
                        if (e < 0) {
                                stop = COLUMNS_BAD_RECORD;
                                break;
                        }
                        n_ev++;
                }
                if (seq != COLUMNS_NO_SEQ) {
                        exp_sender = sender;
                        exp_seq = seq + 1;
                }
                n_frames++;
                pos += (Py_ssize_t)fl;
        }
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&b);
        PyBuffer_Release(&be);
        PyBuffer_Release(&bv);
        PyBuffer_Release(&bd);
        PyObject *st = s_stop(stop, need, stored, computed);
        return Py_BuildValue("(nknnnnNniKk)", pos, (unsigned long)run, n_frames, (Py_ssize_t)n_ev,
                             (Py_ssize_t)out.n_values, (Py_ssize_t)out.n_dv, st,
                             (Py_ssize_t)need, full, exp_seq, exp_sender);
}

/* layout() -> (event_size, [(name, dtype, offset)...], value_size, dv_size) */
static PyObject *s_layout(PyObject *self, PyObject *noargs)
{
        (void)self;
        (void)noargs;
        PyObject *list = PyList_New((Py_ssize_t)columns_n_fields);
        if (!list)
                return NULL;
        for (size_t i = 0; i < columns_n_fields; i++)
                PyList_SET_ITEM(list, (Py_ssize_t)i,
                                Py_BuildValue("(ssn)", columns_fields[i].name,
                                              columns_fields[i].dtype,
                                              (Py_ssize_t)columns_fields[i].offset));
        return Py_BuildValue("(nNnn)", (Py_ssize_t)sizeof(struct columns_event), list,
                             (Py_ssize_t)sizeof(struct columns_value),
                             (Py_ssize_t)sizeof(struct columns_dv));
}

static PyMethodDef s_methods[] = {
        { "crc32c", s_crc32c, METH_VARARGS, "crc32c(data, crc=0): CRC-32C, continuing from crc" },
        { "frames", s_frames, METH_VARARGS, "frames(buf, pos, version=1): whole good frames from pos" },
        { "resync", s_resync, METH_VARARGS, "resync(buf, from, version): the next good frame" },
        { "decode", s_decode, METH_VARARGS, "decode(buf, pos, run, events, values, dv, version=1, sender=0, seq=NO_SEQ): event rows into buffers" },
        { "kind", s_kind, METH_VARARGS, "kind(payload): the Record's kind code" },
        { "layout", s_layout, METH_NOARGS, "layout(): the row layouts" },
        { NULL, NULL, 0, NULL },
};

static struct PyModuleDef s_module = {
        PyModuleDef_HEAD_INIT, "darkdaq._fast", "darkdaq's compiled run-file decoder", -1,
        s_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fast(void);
PyMODINIT_FUNC PyInit__fast(void)
{
        return PyModule_Create(&s_module);
}

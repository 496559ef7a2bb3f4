/* SPDX-License-Identifier: Apache-2.0 */
/* columns: the Python package's decoder of run-file bytes into event rows
 * (pure: no I/O, no Python, no allocation of its own).  It frames run files
 * v1 (u32 length, u32 CRC-32C, one darkdaq.Record), checks each CRC and reads
 * the protobuf wire format of Event records straight into fixed rows and the
 * rows of the repeated quantities; version 2 (file magic "DKRN", frames of
 * sync word, length, sender, seq, CRC-32C) in columns_frame_v2(), and the
 * search for the next good frame after damage in columns_resync().  The
 * record decoding does not depend on the frame format. */
#ifndef DARKDAQ_COLUMNS_H
#define DARKDAQ_COLUMNS_H

#include <stddef.h>
#include <stdint.h>

#define COLUMNS_FRAME_HEADER    8u              /* v1 */
#define COLUMNS_FRAME2_HEADER   24u             /* v2 */
#define COLUMNS_FILE_HEADER     8u              /* v2: "DKRN", u32 2 */
#define COLUMNS_FILE_MAGIC      0x4E524B44u
#define COLUMNS_SYNC            0x53524B44u     /* "DKRS" */
#define COLUMNS_NO_SEQ          UINT64_MAX
#define COLUMNS_MAX_RECORD      (256u << 20)    /* as daemon/runfile.h */
#define COLUMNS_STATUS_COUNT    8               /* darkdaq.Status values */

/* Record kinds: the field number of Record's oneof body; 0 none or unknown. */
enum columns_kind {
        COLUMNS_NONE = 0, COLUMNS_RUN_HEADER = 1, COLUMNS_EVENT = 2, COLUMNS_LATE = 3,
        COLUMNS_JUNK = 4, COLUMNS_CORRUPT = 5, COLUMNS_RUN_TRAILER = 6,
};

/* One event; the Python side's numpy dtype is built from columns_fields[]. */
struct columns_event {
        double zprime_invisible_recoil_m2_gev2; /* NaN: tag not fired (all tag quantities) */
        double zprime_invisible_recoil_m_gev;   /* sqrt(max(m2, 0)) */
        double zprime_invisible_recoil_theta_rad;
        double tau_1x3_thrust;
        double tau_1x3_x_lepton;
        double missing_energy_e_miss_gev;
        double missing_energy_theta_miss_rad;
        double missing_energy_m2_miss_gev2;
        double single_photon_photon_e_gev;
        double single_photon_recoil_m2_gev2;
        double single_photon_recoil_m_gev;      /* sqrt(max(m2, 0)) */
        double e_extra_gev;                     /* as stored: 0 when absent */
        double e_miss_gev;
        uint64_t time_ticks;
        uint32_t run;                           /* from the file's last run header */
        uint32_t trigger;
        uint32_t trigger_bits;
        uint32_t n_tracks;
        int32_t charge_sum;
        uint32_t n_photons;
        uint32_t n_sources;
        uint32_t n_missing;
        uint32_t n_fragments;
        uint32_t mumu_tautau_n;                 /* entries in the repeated tables */
        uint32_t four_muon_n;
        uint32_t displaced_vertex_n;
        uint32_t three_photon_n;
        char tau_1x3_lepton[4];                 /* NUL-padded; empty when not fired */
        uint8_t status[COLUMNS_STATUS_COUNT];   /* 0/1 per darkdaq.Status */
        uint8_t tag[9];                         /* 0/1 per tag, in darkdaq.Tags order */
        uint8_t pad_[3];
};

/* Which repeated double a columns_value row holds. */
enum columns_list {
        COLUMNS_MUMU_TAUTAU_RECOIL_M = 0, COLUMNS_FOUR_MUON_DIMUON_M = 1,
        COLUMNS_THREE_PHOTON_DIPHOTON_M = 2, COLUMNS_SOURCE = 3, COLUMNS_MISSING = 4,
};

/* One element of a repeated quantity (sources and missing too, as value). */
struct columns_value {
        double value;
        uint32_t run;
        uint32_t trigger;
        uint32_t index;         /* position in its list, from 0 */
        uint32_t list;          /* enum columns_list */
};

/* One displaced-vertex candidate. */
struct columns_dv {
        double r_xy_cm, z_cm, doca_cm, open_rad, m_pipi_gev, m_reduced_pipi_gev;
        uint32_t run;
        uint32_t trigger;
        uint32_t index;
        uint8_t points_to_ip;
        uint8_t pad_[3];
};

/* A column of struct columns_event: name, numpy type code, offset, count. */
struct columns_field {
        const char *name;
        const char *dtype;      /* "<f8", "<u8", "<u4", "<i4", "?", "S4" */
        size_t offset;
};
extern const struct columns_field columns_fields[];
extern const size_t columns_n_fields;

/* CRC-32C (Castagnoli) of buf, continuing from crc (0 to start). */
uint32_t columns_crc32c(uint32_t crc, const uint8_t *buf, size_t len);

/* Where the frames of a buffer stop. */
enum columns_stop {
        COLUMNS_MORE = 0,       /* a frame goes on beyond the buffer: give more */
        COLUMNS_TOO_LONG,       /* a length above COLUMNS_MAX_RECORD */
        COLUMNS_BAD_CRC,
        COLUMNS_EMPTY,          /* a frame of length 0 */
        COLUMNS_BAD_RECORD,     /* does not parse as a Record */
        COLUMNS_SEQ,            /* decode only: a frame whose (sender, seq) is not the
                                   one expected; the caller decides */
        COLUMNS_BAD_SYNC,       /* v2: no sync word where a frame should begin */
};

/* Run file v1: the frame at buf[0..len).  Returns 1 and sets *payload and
 * *payload_len (and *frame_len, header included) for a whole frame whose CRC
 * holds; 0 when buf holds no whole frame (*stop COLUMNS_MORE: read more;
 * *need: the bytes the frame needs); -1 for a damaged frame, *stop saying
 * how (*stored, *computed: the CRCs for COLUMNS_BAD_CRC). */
int columns_frame_v1(const uint8_t *buf, size_t len, const uint8_t **payload,
                     size_t *payload_len, size_t *frame_len, enum columns_stop *stop,
                     size_t *need, uint32_t *stored, uint32_t *computed);

/* Run file v2: the same for a v2 frame, also giving its *sender and *seq. */
int columns_frame_v2(const uint8_t *buf, size_t len, const uint8_t **payload,
                     size_t *payload_len, size_t *frame_len, enum columns_stop *stop,
                     size_t *need, uint32_t *stored, uint32_t *computed, uint32_t *sender,
                     uint64_t *seq);

/* After damage: the offset >= from of the first good frame of version
 * (1 or 2) wholly in buf[0..len) (sync word for v2, a Record's shape for v1,
 * a length that fits, CRC), every offset tried.  -1 when there is none:
 * *keep is the offset from which bytes must be kept to look again once more
 * are read (a frame begun but not whole), *need the bytes from *keep it
 * needs. */
long columns_resync(unsigned version, const uint8_t *buf, size_t len, size_t from,
                    size_t *keep, size_t *need);

/* Reads a run header's run number.  0 or -1 (broken). */
int columns_run_header(const uint8_t *p, size_t n, uint32_t *run);

/* Where decoded rows go: arrays owned by the caller, with room for cap_*
 * rows each; columns_event_decode() writes at n_values/n_dv and advances
 * them, or returns -ENOSPC (having written nothing) when an event needs
 * more room than is left. */
struct columns_out {
        struct columns_value *values;
        size_t n_values, cap_values;
        struct columns_dv *dv;
        size_t n_dv, cap_dv;
};

/* Decodes the Event message in p[0..n) (the body of Record field 2) into
 * *row and its repeated quantities into out.  0, -EINVAL (broken wire
 * format: nothing in out has moved), -ENOSPC. */
int columns_event_decode(const uint8_t *p, size_t n, uint32_t run, struct columns_event *row,
                         struct columns_out *out);

/* The kind of the Record in p[0..n) (COLUMNS_NONE for none or a kind newer
 * than this decoder) and its body's bytes in *body, *body_len; -1 when the
 * wire format is broken. */
int columns_record_body(const uint8_t *p, size_t n, const uint8_t **body, size_t *body_len);

#endif

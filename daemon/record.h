/* SPDX-License-Identifier: Apache-2.0 */
/* record: builder outputs and tagger results as darkdaq.Record messages
 * (proto/darkdaq.proto), and the run header and trailer.  Pure: no I/O, no
 * logging.  Messages are built in the encoder's own storage, pointing at the
 * caller's bytes (fragments are never copied); arrays grow to the largest
 * event seen and are then reused, so steady state allocates nothing. */
#ifndef DARKDAQ_RECORD_H
#define DARKDAQ_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder.h"
#include "darkdaq.pb-c.h"
#include "tags.h"

typedef struct record_enc record_enc_t;

/* Returns NULL on out of memory. */
record_enc_t *record_enc_new(void);
/* Accepts NULL.  Returns NULL. */
record_enc_t *record_enc_free(record_enc_t *e);

struct record_run_info {
        uint32_t run;                   /* run number */
        uint64_t start_time_ns;         /* CLOCK_REALTIME */
        const char *config_text;        /* the configuration as read; NULL: "" */
        uint64_t sources;               /* bit s: source s expected */
        uint32_t file_sequence;         /* SSS of the file (the writer sets it) */
};

/* What the run trailer reports.  counters and oos may be NULL/0. */
struct record_totals {
        const struct builder_counters *counters;
        const struct builder_out_of_step *oos;
        size_t n_oos;
        /* Events per tag, TAG_COUNT_ entries; NULL: those this encoder
         * counted in record_event() since record_enc_new(). */
        const uint64_t *tag_counts;
        const char *end_reason;         /* "stop", "end of input", "signal", "silence" */
        uint64_t end_time_ns;           /* CLOCK_REALTIME */
        /* Records of the run the store refused as unreadable (NAK); written
         * as the count refused_by_store only when not 0. */
        uint64_t refused_by_store;
};

/* Each function below returns a Record held by the encoder, valid (with the
 * caller's bytes it points at) until the next call that builds the same kind
 * of record or record_enc_free(); NULL only on out of memory (the event's
 * arrays could not grow).  The caller may change fields before packing. */

/* Copies n bytes of in to out as valid UTF-8, each invalid sequence (a
 * byte that begins none) replaced by U+FFFD, NUL-terminated and cut to
 * out_size (out NULL: only counts).  Returns the length the whole copy
 * needs (without the NUL) and, in *replaced (may be NULL), how many bytes
 * were replaced.  Pure. */
size_t record_utf8_fix(const char *in, size_t n, char *out, size_t out_size, size_t *replaced);

/* The run header: info as given, config_hash = SHA-256 hex of config_text
 * as given; config_text valid UTF-8 (invalid sequences replaced by U+FFFD,
 * their number in config_text_replaced, the bytes as given in config_raw,
 * which must outlive the record, when any was), software_version =
 * DARKDAQ_VERSION, sources ascending from the mask.  Junk and corrupt
 * reasons are made valid UTF-8 the same way. */
Darkdaq__Record *record_run_header(record_enc_t *e, const struct record_run_info *info);

/* One built event and its tags: status in proto/README.md order from the
 * bits, sources and missing ascending from the masks, every fragment with
 * its bytes verbatim, the event quantities of tags, and one submessage per
 * fired tag holding its quantities.  tags may be NULL (no quantities, no
 * tags).  Counts fired tags for record_trailer(). */
Darkdaq__Record *record_event(record_enc_t *e, const struct built_event *ev,
                              const struct tag_result *tags);

/* The same event record as record_event(), packed: the protobuf wire bytes
 * of a darkdaq.Record holding the event, written directly (protobuf-c's
 * generic packer costs more than building and tagging the event).  The
 * bytes equal protobuf_c_message_pack() of record_event()'s message.  Valid
 * until the next call; NULL on out of memory.  Counts fired tags too. */
const uint8_t *record_event_pack(record_enc_t *e, const struct built_event *ev,
                                 const struct tag_result *tags, size_t *ret_len);

/* The same bytes in two halves, for a caller that tags on another thread.
 * The head holds the Event fields that only the builder decides (trigger
 * ... fragments); record_event_head_size() counts it (0 on out of memory,
 * never otherwise) and record_event_head_write() then writes that many
 * bytes to out, with ret_tag_off[k] set to where the k-th of
 * ev->tag_frags' bytes are in out (ev->n_tag_frags entries), so a tagger
 * can read them there.  record_event_finish() puts the Record prefix before
 * a head and the tagger's fields (tags may be NULL) after it: the result
 * equals record_event_pack() of the same event.  Valid until the next call
 * on e; NULL on out of memory.  Counts fired tags like record_event_pack(). */
size_t record_event_head_size(record_enc_t *e, const struct built_event *ev);
void record_event_head_write(record_enc_t *e, const struct built_event *ev, uint8_t *out,
                             uint32_t *ret_tag_off);
const uint8_t *record_event_finish(record_enc_t *e, const uint8_t *head, size_t head_len,
                                   const struct tag_result *tags, size_t *ret_len);

Darkdaq__Record *record_late(record_enc_t *e, const struct built_late *late);
Darkdaq__Record *record_junk(record_enc_t *e, const struct built_junk *junk);
Darkdaq__Record *record_corrupt(record_enc_t *e, const struct built_corrupt *c);

/* The run trailer: every builder counter by its field name ("events",
 * "complete", ..., "bytes_out"), "source_N_fragments"/"_late"/"_missing"
 * for each source with any, "tag_NAME" for every tag, the out-of-step list,
 * end reason and time.  records_in_file and continued are left 0 for the
 * run-file writer to set. */
Darkdaq__Record *record_trailer(record_enc_t *e, const struct record_totals *t);

/* What an encoder counted since record_enc_new(): the events of
 * record_event(), the packers and record_count_fired(). */
struct record_counters {
        uint64_t tags[TAG_COUNT_];      /* events per tag */
};

void record_get_counters(const record_enc_t *e, struct record_counters *ret);
/* Counts an event with these fired tags (bit 1u << tag) in e, for an event
 * that another encoder packed (tagpipe.h). */
void record_count_fired(record_enc_t *e, uint32_t fired);

/* "complete", "incomplete", ... for a darkdaq.Status value; NULL if unknown. */
const char *record_status_name(unsigned status);

/* "zprime_invisible", ... for enum tag_id, from the proto's Tags fields. */
const char *record_tag_name(unsigned tag);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* stream: the resynchronising reader of board-interface byte streams.
 * Bytes go in as they come (split anywhere); out come good fragments, bad
 * fragments with their reason, and junk with its offset, every byte exactly
 * once, decided by the rules of proto/README.md s.1.  Pure: no I/O.  Memory is
 * bounded: it holds only the bytes still needed to decide the next item.  So
 * is the work per byte, whatever the bytes: no candidate inside a corrupt
 * span is tried twice, nor read whole to learn that its CRC fails. */
#ifndef DARKDAQ_STREAM_H
#define DARKDAQ_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fragment.h"

enum stream_kind {
        STREAM_FRAGMENT,        /* a good fragment, whole */
        STREAM_BAD_FRAGMENT,    /* header well formed, trailer magic in place,
                                   CRC or content bad: the whole fragment */
        STREAM_CUT_FRAGMENT,    /* well-formed header, cut by end of stream:
                                   from the header to the end */
        STREAM_BAD_MAGIC,       /* a header magic that begins no fragment: 4 bytes */
        STREAM_JUNK,            /* a maximal run of bytes with no header magic */
};

struct stream_item {
        enum stream_kind kind;
        uint64_t offset;                /* of data[0] in the stream */
        const uint8_t *data;            /* valid during the callback only */
        size_t bytes;
        struct frag_header hdr;         /* FRAGMENT, BAD_FRAGMENT, CUT_FRAGMENT */
        struct frag_info info;          /* FRAGMENT */
        struct frag_error err;          /* all but FRAGMENT */
        bool crc_ok;                    /* BAD_FRAGMENT: the CRC matched */
};

/* Called once per item, in stream order.  A non-zero return stops the feed
 * (stream_feed then returns that value; call it again with the rest). */
typedef int (*stream_cb)(void *ctx, const struct stream_item *item);

typedef struct stream stream_t;

/* Bytes a junk run may reach before it is handed out in pieces (runs are
 * maximal below this; a consumer that wants longer runs joins adjacent
 * pieces by offset).  The reader then never holds more than one decision
 * needs: 2 x FRAG_MAX_BYTES, when a good fragment starts inside a bad one
 * and ends beyond it. */
#define STREAM_MAX_JUNK_RUN (1u << 20)

stream_t *stream_new(void);
stream_t *stream_free(stream_t *s);     /* accepts NULL, returns NULL */

/* Feeds len bytes.  Decided items are passed to cb, pointing into data (no
 * copy), or into the reader's own buffer for an item that straddles two
 * feeds and those decided after it until the held bytes run out.  Returns
 * 0, a callback's non-zero value, or -ENOMEM.  On a callback's non-zero
 * return, *used (may be NULL) says how many bytes of data were taken; feed
 * the rest again later. */
int stream_feed(stream_t *s, const void *data, size_t len, stream_cb cb, void *ctx,
                size_t *used);

/* The end of the stream: decides everything still held. */
int stream_finish(stream_t *s, stream_cb cb, void *ctx);

/* Total bytes fed, and bytes held undecided. */
uint64_t stream_offset(const stream_t *s);
size_t stream_held(const stream_t *s);

const char *stream_kind_name(enum stream_kind k);

#endif

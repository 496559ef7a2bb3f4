/* SPDX-License-Identifier: Apache-2.0 */
/* sha256: SHA-256 (FIPS 180-4), for the run header's hash of the
 * configuration text.  Pure: no I/O, no allocation.  Not constant-time and
 * not meant for secrets: it names a configuration, nothing more. */
#ifndef DARKDAQ_SHA256_H
#define DARKDAQ_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32
#define SHA256_HEX_BYTES 65             /* 64 hex digits and the NUL */

struct sha256 {
        uint32_t h[8];                  /* chaining state */
        uint64_t bytes;                 /* message length so far */
        uint8_t block[64];              /* partial block */
        size_t fill;                    /* bytes used in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, uint8_t out[SHA256_BYTES]);

/* The digest of data[0..len) as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_BYTES]);

#endif

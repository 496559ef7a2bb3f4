/* SPDX-License-Identifier: Apache-2.0 */
/* crc32c: CRC-32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF),
 * the checksum of board fragments and run-file frames.  The path is chosen
 * once, at first use, from CPUID: ISA-L's carry-less-multiplication kernels
 * for long buffers, the SSE4.2 instruction for short ones, the table path
 * everywhere else.  Also joins and splits CRCs without reading the bytes. */
#ifndef DARKDAQ_CRC32C_H
#define DARKDAQ_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32C of buf[0..len), continuing from crc (0 to start):
 * crc32c(crc32c(0, a, n), b, m) == crc32c(0, a||b, n+m).
 * crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The implementations, for tests and the benchmark, each with crc32c()'s
 * contract.  crc32c_hw() runs the table path where crc32c_have_hw() is false;
 * crc32c_isal() is ISA-L's crc32_iscsi() (its own run-time dispatch), whose
 * int length it splits. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_isal(uint32_t crc, const void *buf, size_t len);
bool crc32c_have_hw(void);

/* Buffers of at least this many bytes go to ISA-L (SIZE_MAX: never), and
 * what crc32c() runs, for people: "ISA-L from 256 bytes, SSE4.2 below". */
size_t crc32c_isal_min(void);
const char *crc32c_describe(void);

/* The CRC of a||b from the CRCs of a and of b and b's length:
 * crc32c_combine(crc32c(0, a, n), crc32c(0, b, m), m) == crc32c(0, a||b, n+m).
 * The same call takes a span out of two running CRCs of one stream:
 * crc32c_combine(crc32c(0, a, n), crc32c(0, a||b, n+m), m) == crc32c(0, b, m).
 * A few multiplications modulo the polynomial (carry-less where the CPU has
 * PCLMULQDQ) for m below 16 MiB, one more per further 16 MiB. */
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, size_t len_b);
uint32_t crc32c_combine_sw(uint32_t crc_a, uint32_t crc_b, size_t len_b);  /* no PCLMULQDQ */

/* Running CRCs at every CRC32C_MARK_BYTES: out[k] = crc32c(crc, buf,
 * (k + 1) * CRC32C_MARK_BYTES) for k < len / CRC32C_MARK_BYTES; the bytes
 * after the last whole step are not read.  With crc32c_combine() these give
 * the CRC of any span of buf in constant time. */
#define CRC32C_MARK_BYTES 32
void crc32c_marks(uint32_t crc, const void *buf, size_t len, uint32_t *out);

#endif

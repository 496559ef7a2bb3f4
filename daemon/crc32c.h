/* crc32c: CRC-32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF),
 * the checksum of board fragments and run-file frames.  The SSE4.2 path is
 * chosen once, at first use, from CPUID; the table path runs everywhere. */
#ifndef DARKDAQ_CRC32C_H
#define DARKDAQ_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32C of buf[0..len), continuing from crc (0 to start):
 * crc32c(crc32c(0, a, n), b, m) == crc32c(0, a||b, n+m).
 * crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* The two implementations, for tests and the benchmark.  crc32c_hw() may be
 * called only when crc32c_have_hw() is true. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
bool crc32c_have_hw(void);

#endif

/* Fuzzes storage_data_parse() and storage_ack_parse() on arbitrary bytes:
 * no crash, no read outside the input; whatever parses encodes back to the
 * same bytes (parse(encode(x)) == x, and encode(parse(m)) == m), and the
 * payload of a data message is the input after its 16-byte prefix. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *payload;
        size_t len;
        uint32_t run;
        uint64_t seq;

        if (storage_data_parse(data, size, &run, &seq, &payload, &len) == 0) {
                uint8_t pre[STORAGE_DATA_PREFIX];
                if (payload != data + STORAGE_DATA_PREFIX || len != size - STORAGE_DATA_PREFIX)
                        abort();
                storage_data_prefix(pre, run, seq);
                if (memcmp(pre, data, sizeof pre))
                        abort();
        }
        struct storage_ack a, b;
        if (storage_ack_parse(data, size, &a) == 0) {
                uint8_t buf[STORAGE_ACK_BYTES];
                storage_ack_encode(buf, &a);
                if (memcmp(buf, data, sizeof buf))
                        abort();
        }
        /* Encode arbitrary values, parse them back. */
        if (size >= 16) {
                uint8_t msg[STORAGE_DATA_PREFIX], buf[STORAGE_ACK_BYTES];
                uint32_t r2;
                uint64_t s2;
                memcpy(&run, data, 4);
                memcpy(&seq, data + 4, 8);
                storage_data_prefix(msg, run, seq);
                if (storage_data_parse(msg, sizeof msg, &r2, &s2, &payload, &len) != 0 ||
                    r2 != run || s2 != seq || len != 0)
                        abort();
                a.kind = (enum storage_ack_kind)(STORAGE_HELLO + data[12] % 4);
                a.run = run;
                a.seq = seq;
                storage_ack_encode(buf, &a);
                if (storage_ack_parse(buf, sizeof buf, &b) != 0 || b.kind != a.kind ||
                    b.run != a.run || b.seq != a.seq)
                        abort();
        }
        return 0;
}

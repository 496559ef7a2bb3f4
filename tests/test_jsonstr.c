/* SPDX-License-Identifier: Apache-2.0 */
/* test_jsonstr: quoting and escaping, and snprintf-style cutting. */
#include <string.h>

#include "check.h"
#include "jsonstr.h"

TEST(quotes_and_escapes)
{
        char b[64];

        CHECK_EQ_U(jsonstr_quote(b, sizeof b, "a\"b\\c\n\x01z"), 22);
        CHECK(strcmp(b, "\"a\\\"b\\\\c\\u000a\\u0001z\"") == 0);
        CHECK(jsonstr_quote(b, sizeof b, NULL) == 2 && strcmp(b, "\"\"") == 0);
        CHECK(jsonstr_quote(b, sizeof b, "\xc3\xa9") == 4 && strcmp(b, "\"\xc3\xa9\"") == 0);
}

TEST(cut_like_snprintf)
{
        char b[5];

        CHECK_EQ_U(jsonstr_quote(NULL, 0, "abcdef"), 8);
        CHECK(jsonstr_quote(b, sizeof b, "abcdef") == 8 && strcmp(b, "\"abc") == 0);
        CHECK(jsonstr_quote(b, 1, "x") == 3 && b[0] == '\0');
}

TEST_MAIN()

/* Unit tests of util/utf8 against a decoder written the other way round: decode the code
 * point first, then reject overlong forms, surrogates and values past U+10FFFF. */
#include <stdbool.h>
#include <stdint.h>

#include "util/utf8.h"
#include "test.h"

/* Bytes of the well-formed sequence at s (n of them), 0 when there is none. */
static size_t ref_len(const unsigned char *s, size_t n)
{
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	uint32_t cp;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min_cp[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Every sequence of up to three bytes, and four-byte ones over every lead and second byte. */
static void test_seq_len_matches_reference(void)
{
	static const unsigned char tails[] = {
		0x00, 0x41, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xff
	};
	unsigned char b[4];
	long bad = 0;

	for (uint32_t v = 0; v < (1u << 24); v++) {
		b[0] = (unsigned char)(v >> 16);
		b[1] = (unsigned char)(v >> 8);
		b[2] = (unsigned char)v;
		for (size_t n = 1; n <= 3; n++)
			bad += utf8_seq_len(b, n) != ref_len(b, n);
	}
	for (uint32_t v = 0; v < (1u << 16); v++) {
		b[0] = (unsigned char)(v >> 8);
		b[1] = (unsigned char)v;
		for (size_t i = 0; i < sizeof(tails); i++) {
			for (size_t j = 0; j < sizeof(tails); j++) {
				b[2] = tails[i];
				b[3] = tails[j];
				bad += utf8_seq_len(b, 4) != ref_len(b, 4);
			}
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(utf8_seq_len((const unsigned char *)"", 0), 0);
}

static void test_valid_strings(void)
{
	CHECK(utf8_valid("", 0));
	CHECK(utf8_valid("main", 4));
	CHECK(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5 \xf4\x8f\xbf\xbf", 19));
	CHECK(!utf8_valid("bad\xff", 4));
	CHECK(!utf8_valid("\xc0\xaf", 2));	   /* overlong '/' */
	CHECK(!utf8_valid("\xe0\x80\xaf", 3));	   /* overlong '/' */
	CHECK(!utf8_valid("\xf0\x8f\xbf\xbd", 4)); /* overlong U+FFFD */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));	   /* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* U+110000 */
	CHECK(!utf8_valid("\xe2\x82", 2));	   /* cut */
	CHECK(!utf8_valid("a\xe2\x82\xac", 3));	   /* cut by n */
}

static void test_put_every_code_point(void)
{
	char out[4];
	long bad = 0;

	for (uint32_t c = 0; c <= 0x110100; c++) {
		size_t n = utf8_put(out, c);
		bool replaced = (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff;

		bad += ref_len((const unsigned char *)out, n) != n;
		if (replaced)
			bad += n != 3 || memcmp(out, "\xef\xbf\xbd", 3) != 0;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(utf8_put(out, 0xffffffffu), 3);
	CHECK(memcmp(out, "\xef\xbf\xbd", 3) == 0);
	CHECK_INT(utf8_put(out, 0x1f525), 4);
	CHECK(memcmp(out, "\xf0\x9f\x94\xa5", 4) == 0);
}

static void test_repair(void)
{
	char out[UTF8_REPAIR_SIZE(16)];

	CHECK_INT(utf8_repair("ok \xc3\xa9", 5, out), 5);
	CHECK_STR(out, "ok \xc3\xa9");
	/* one U+FFFD per byte that starts nothing */
	CHECK_INT(utf8_repair("\xff\xfe", 2, out), 6);
	CHECK_STR(out, "\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_INT(utf8_repair("a\xe2\x82", 3, out), 7);
	CHECK_STR(out, "a\xef\xbf\xbd\xef\xbf\xbd");
	/* the worst case fills the size the header promises */
	CHECK_INT(utf8_repair("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80",
			      16, out),
		  48);
	CHECK(utf8_valid(out, 48));
}

int main(void)
{
	RUN_TEST(test_seq_len_matches_reference);
	RUN_TEST(test_valid_strings);
	RUN_TEST(test_put_every_code_point);
	RUN_TEST(test_repair);
	return TEST_SUMMARY();
}

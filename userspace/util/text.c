// SPDX-License-Identifier: MIT
/* UTF-8 validation and byte offsets as line:col (text.h). */
#include "util/text.h"

/* The length of the valid UTF-8 character at `s` (at most `left` bytes), or 0. */
static size_t utf8_char(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xbf; /* the second byte's range */

	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0; /* NUL, a continuation byte, an overlong lead, or past U+10FFFF */
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

size_t zs_utf8_bad(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_char(s + i, len - i);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

void zs_text_pos(const char *buf, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n')
			*line += 1, *col = 1;
		else if ((c & 0xc0) != 0x80)
			*col += 1;
	}
}

// SPDX-License-Identifier: MIT
/*
 * The state text's elements (see log.h): the store knows objects only as
 * the compact JSON texts zs_objects_state_json joins into one array, so
 * that a new kind of object needs nothing here. A change is found by
 * comparing the new text with the committed one: the common head and tail
 * as bytes (cheap: a one-policy change at 100k rules differs in one
 * element), and only the region between them element by element, matched
 * by hash and then by text.
 */
#include "store/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Where the JSON value at buf[i] ends: the ',' or ']' after it; 0: not a value. */
static size_t value_end(const char *buf, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		char c = buf[i];
		if (c == '"') {
			for (i++; i < len && buf[i] != '"'; i++)
				if (buf[i] == '\\')
					i++;
			if (i >= len)
				return 0;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (!depth)
				return c == ']' ? i : 0;
			depth--;
		} else if (c == ',' && !depth) {
			return i;
		}
	}
	return 0;
}

static void push(struct elems *e, size_t off, size_t len, uint64_t h)
{
	struct elem *x = zs_vec_grow((void **)&e->v, &e->n, &e->cap, sizeof(*e->v));

	*x = (struct elem){ .h = h, .off = off, .len = len };
}

static bool is_array(const char *buf, size_t len)
{
	return len >= 2 && buf[0] == '[' && buf[len - 1] == ']';
}

/* Scans elements from `c` (an element's start, or the closing bracket) to the end. */
static int scan_from(struct elems *e, size_t c)
{
	while (c < e->len - 1) {
		size_t end = value_end(e->buf, e->len, c);
		if (!end || end == c)
			return -EINVAL;
		push(e, c, end - c, store_hash(e->buf + c, end - c, 0));
		c = e->buf[end] == ',' ? end + 1 : end;
	}
	return c == e->len - 1 ? 0 : -EINVAL;
}

int elems_split(struct elems *e, char *buf, size_t len)
{
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->len = len;
	if (!is_array(buf, len))
		return -EINVAL;
	return len == 2 ? 0 : scan_from(e, 1);
}

void elems_free(struct elems *e)
{
	free(e->buf);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

void elems_delta_free(struct elems_delta *d)
{
	free(d->puts);
	free(d->dels);
	memset(d, 0, sizeof(*d));
}

static size_t common_head(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn, i = 0;
	uint64_t x, y;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			break;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

static size_t common_tail(const char *a, size_t an, const char *b, size_t bn, size_t max)
{
	size_t i = 0;
	uint64_t x, y;

	for (; i + 8 <= max; i += 8) {
		memcpy(&x, a + an - i - 8, 8);
		memcpy(&y, b + bn - i - 8, 8);
		if (x != y)
			break;
	}
	while (i < max && a[an - i - 1] == b[bn - i - 1])
		i++;
	return i;
}

/* The first of prev's elements at or after offset q that starts exactly there; n: the end. */
static size_t cut_at(const struct elems *prev, size_t from, size_t q, bool *found)
{
	size_t lo = from, hi = prev->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (prev->v[mid].off < q)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < prev->n ? prev->v[lo].off == q : q == prev->len - 1;
	return lo;
}

/*
 * Scans next's middle from c0 until the rest of it is prev's rest, byte for
 * byte, from a cut (an element's start) in both; *m: prev's element there.
 */
static int scan_middle(const struct elems *prev, struct elems *next, size_t k, size_t c0,
		       size_t tail, size_t *m)
{
	size_t c = c0, len = next->len;

	for (;;) {
		bool found = false;
		if (len - c <= tail) {
			*m = cut_at(prev, k, prev->len - (len - c), &found);
			if (found)
				return 0;
		}
		if (c >= len - 1) { /* no common tail at a cut: prev's rest is gone */
			*m = prev->n;
			return c == len - 1 ? 0 : -EINVAL;
		}
		size_t end = value_end(next->buf, len, c);
		if (!end || end == c)
			return -EINVAL;
		push(next, c, end - c, store_hash(next->buf + c, end - c, 0));
		c = next->buf[end] == ',' ? end + 1 : end;
	}
}

/* Matches next's middle [a, b) with prev's [k, m): what is left unmatched is the change. */
static void match_middle(const struct elems *prev, size_t k, size_t m, const struct elems *next,
			 size_t a, size_t b, struct elems_delta *d)
{
	size_t cap = 16, *slot;
	bool *used = zs_xcalloc(m - k + 1, 1);

	while (cap < 2 * (m - k))
		cap *= 2;
	slot = zs_xcalloc(cap, sizeof(*slot)); /* prev index + 1 */
	for (size_t i = k; i < m; i++) {
		size_t s = prev->v[i].h & (cap - 1);
		while (slot[s])
			s = (s + 1) & (cap - 1);
		slot[s] = i + 1;
	}
	d->puts = zs_xcalloc(b - a + 1, sizeof(*d->puts));
	for (size_t j = a; j < b; j++) {
		const struct elem *x = &next->v[j];
		bool same = false;
		for (size_t s = x->h & (cap - 1); slot[s] && !same; s = (s + 1) & (cap - 1)) {
			const struct elem *y = &prev->v[slot[s] - 1];
			same = !used[slot[s] - 1 - k] && y->h == x->h && y->len == x->len &&
			       !memcmp(prev->buf + y->off, next->buf + x->off, x->len);
			if (same)
				used[slot[s] - 1 - k] = true;
		}
		if (!same)
			d->puts[d->nputs++] = j;
	}
	d->dels = zs_xcalloc(m - k + 1, sizeof(*d->dels));
	for (size_t i = k; i < m; i++)
		if (!used[i - k])
			d->dels[d->ndels++] = i;
	free(slot);
	free(used);
}

int elems_diff(const struct elems *prev, char *buf, size_t len, struct elems *next,
	       struct elems_delta *d)
{
	size_t head, tail, k, m, a, t;
	bool found;
	int err;

	memset(d, 0, sizeof(*d));
	memset(next, 0, sizeof(*next));
	next->buf = buf;
	next->len = len;
	if (!is_array(buf, len) || !is_array(prev->buf, prev->len))
		return -EINVAL;
	head = common_head(prev->buf, prev->len, buf, len);
	tail = common_tail(prev->buf, prev->len, buf, len,
			   (prev->len < len ? prev->len : len) - head);
	/* prev's elements wholly before the first difference: the same, at the same place. */
	t = cut_at(prev, 0, head + 1, &found); /* elements starting at or before head */
	k = t ? t - 1 : 0;
	for (size_t i = 0; i < k; i++)
		push(next, prev->v[i].off, prev->v[i].len, prev->v[i].h);
	a = next->n;
	err = scan_middle(prev, next, k, k < prev->n ? prev->v[k].off : 1, tail, &m);
	if (err)
		return err;
	size_t b = next->n;
	for (size_t i = m; i < prev->n; i++) /* the common tail: the same, shifted */
		push(next, prev->v[i].off + len - prev->len, prev->v[i].len, prev->v[i].h);
	match_middle(prev, k, m, next, a, b, d);
	return 0;
}

void elems_join(struct elems *e, char *const *texts, size_t n)
{
	size_t len = 2;

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < n; i++)
		len += strlen(texts[i]) + (i > 0);
	e->buf = zs_xcalloc(len + 1, 1);
	e->buf[e->len++] = '[';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(texts[i]);
		if (i)
			e->buf[e->len++] = ',';
		memcpy(e->buf + e->len, texts[i], l);
		push(e, e->len, l, store_hash(texts[i], l, 0));
		e->len += l;
	}
	e->buf[e->len++] = ']';
}

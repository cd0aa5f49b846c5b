// SPDX-License-Identifier: MIT
/*
 * The file back end's append log (see log.h): records with a length and a
 * checksum, appended with one write and an fdatasync, read back up to the
 * first record that does not hold. Every write goes at the end the log
 * knows (pwrite at l->end), so a record cut back (an abort, a failed write)
 * is simply written over by the next one.
 */
#define _GNU_SOURCE
#include "store/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#define LOG_MAGIC 0x474c535au /* "ZSLG", little-endian */

struct log_hdr {
	uint32_t magic;
	uint32_t type;
	uint64_t seq;
	uint64_t len; /* payload bytes */
	uint64_t sum; /* store_hash of the payload, seeded with the header's other fields */
};
_Static_assert(sizeof(struct log_hdr) == 32, "log header layout");

/* MurmurHash64A's mixing, eight bytes at a time. */
uint64_t store_hash(const void *data, size_t len, uint64_t seed)
{
	const uint64_t m = 0xc6a4a7935bd1e995ull;
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * m), k;

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&k, p, 8);
		k *= m;
		k ^= k >> 47;
		k *= m;
		h ^= k;
		h *= m;
	}
	if (len) {
		k = 0;
		memcpy(&k, p, len);
		h ^= k;
		h *= m;
	}
	h ^= h >> 47;
	h *= m;
	h ^= h >> 47;
	return h;
}

static uint64_t hdr_sum(const struct log_hdr *h, const char *payload)
{
	uint64_t seed = store_hash(h, offsetof(struct log_hdr, sum), 0x5a534c47);

	return store_hash(payload, h->len, seed);
}

int store_log_open(struct store_log *l, const char *path)
{
	l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	l->end = 0;
	return l->fd < 0 ? -errno : 0;
}

void store_log_close(struct store_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static int pwrite_all(int fd, const char *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int store_log_cut(struct store_log *l, uint64_t end)
{
	l->end = end;
	return ftruncate(l->fd, (off_t)end) ? -errno : 0;
}

int store_log_append(struct store_log *l, uint32_t type, uint64_t seq, const char *payload,
		     size_t len, bool sync)
{
	struct log_hdr h = { .magic = LOG_MAGIC, .type = type, .seq = seq, .len = len };
	char *rec = zs_xcalloc(sizeof(h) + len + 1, 1);
	int err;

	h.sum = hdr_sum(&h, payload);
	memcpy(rec, &h, sizeof(h));
	zs_memcpy(rec + sizeof(h), payload, len);
	err = pwrite_all(l->fd, rec, sizeof(h) + len, l->end);
	if (!err && sync && fdatasync(l->fd))
		err = -errno;
	free(rec);
	if (err) {
		int e = store_log_cut(l, l->end); /* nothing of it stays */
		(void)e;
		return err;
	}
	l->end += sizeof(h) + len;
	return 0;
}

/* The record at `off` of buf (size n), if whole and sound: its header, and its end. */
static bool record_at(const char *buf, size_t n, size_t off, struct log_hdr *h, size_t *end)
{
	if (n - off < sizeof(*h))
		return false;
	memcpy(h, buf + off, sizeof(*h));
	if (h->magic != LOG_MAGIC || h->len > n - off - sizeof(*h))
		return false;
	if (h->type != LOG_DATA && h->type != LOG_COMMIT)
		return false;
	if (hdr_sum(h, buf + off + sizeof(*h)) != h->sum)
		return false;
	*end = off + sizeof(*h) + h->len;
	return true;
}

static int read_all(int fd, char **out, size_t *n)
{
	struct stat st;
	size_t got = 0;
	char *buf;

	if (fstat(fd, &st))
		return -errno;
	buf = zs_xcalloc((size_t)st.st_size + 1, 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;
			free(buf);
			return err;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out = buf;
	*n = got;
	return 0;
}

/*
 * Is there a sound COMMIT of a change after `last` past the record that does
 * not hold at `off`? A write the daemon did not finish leaves only the log's
 * tail unsound (every record before it was synced first); a sound COMMIT
 * after damage is a committed change that cutting there would lose.
 */
static bool committed_after(const char *buf, size_t n, size_t off, uint64_t last)
{
	uint32_t magic = LOG_MAGIC;
	struct log_hdr h;
	size_t end;

	for (size_t p = off + 1; p + sizeof(h) <= n; p++) {
		const char *m = memmem(buf + p, n - p, &magic, sizeof(magic));
		if (!m)
			return false;
		p = (size_t)(m - buf);
		if (record_at(buf, n, p, &h, &end) && h.type == LOG_COMMIT && h.seq > last)
			return true;
	}
	return false;
}

int store_log_replay(struct store_log *l, uint64_t floor, store_log_fn fn, void *ctx)
{
	size_t n = 0, off = 0, end, committed = 0, data_off = 0;
	uint64_t last = floor; /* the last change replayed (the snapshot holds those up to floor) */
	bool pending = false;
	struct log_hdr h, data = { 0 };
	char *buf = NULL;
	int err = read_all(l->fd, &buf, &n);

	if (err)
		return err;
	while (!err && record_at(buf, n, off, &h, &end)) {
		if (h.type == LOG_DATA) {
			data = h; /* a DATA before it without its COMMIT was cut back: this replaces it */
			data_off = off + sizeof(h);
			pending = true;
		} else if (pending && h.seq == data.seq) {
			err = fn(ctx, data.seq, buf + data_off, data.len);
			if (data.seq > last)
				last = data.seq;
			pending = false;
			committed = end;
		}
		off = end;
	}
	if (!err && off < n && committed_after(buf, n, off, last)) {
		pr_warn("state log: record at byte %zu damaged, and a committed change after it: not loaded (cut nothing; the pinned datapath keeps enforcing until the log is repaired or moved aside)",
			off);
		err = -EBADMSG;
	}
	if (!err && committed < n) {
		if (off < n)
			pr_info("state log: %zu bytes after its last whole record ignored (a write the daemon did not finish)",
				n - off);
		err = store_log_cut(l, committed);
		if (err) /* no harm: the next record is written over it */
			pr_warn("state log: cannot cut its unfinished tail: %s", strerror(-err));
		err = 0;
	}
	l->end = committed;
	free(buf);
	return err;
}

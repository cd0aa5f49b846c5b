// SPDX-License-Identifier: MIT
/* Small shared helpers; see util.h. */
#define _GNU_SOURCE
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int zs_verbose;

void zs_log(const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zeroseg: %s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void zs_oom(void)
{
	fputs("zeroseg: out of memory\n", stderr);
	abort();
}

void *zs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		zs_oom();
	return p;
}

void *zs_xrealloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		zs_oom();
	size_t bytes = n * size;
	p = realloc(p, bytes ? bytes : 1);
	if (!p)
		zs_oom();
	return p;
}

char *zs_xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		zs_oom();
	return d;
}

char *zs_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		zs_oom();
	va_end(ap);
	return s;
}

void *zs_vec_grow(void **v, size_t *n, size_t *cap, size_t elem)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = zs_xrealloc(*v, *cap, elem);
	}
	char *slot = (char *)*v + (*n)++ * elem;
	memset(slot, 0, elem);
	return slot;
}

int zs_prefix_parse(const char *s, struct zs_prefix *out, bool allow_prefix)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	long len = -1;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1)
			return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = 4;
		if (len < 0)
			len = 32;
		if (len > 32)
			return -EINVAL;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = 6;
		if (len < 0)
			len = 128;
		if (len > 128)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (!allow_prefix && len != (out->family == 4 ? 32 : 128))
		return -EINVAL;
	out->len = (uint8_t)len;
	/* Host bits must be zero: 10.1.2.3/8 is a mistake, not a network. */
	for (int bit = out->len; bit < 128; bit++)
		if (out->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -EDOM;
	return 0;
}

const char *zs_addr_str(uint8_t family, const uint8_t addr[16], char *buf, size_t len)
{
	if (family == 4 && len >= 16) {
		/* The hot path of every flow record: dotted quad without inet_ntop. */
		char *p = buf;
		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : '\0';
		}
		return buf;
	}
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *zs_prefix_str(const struct zs_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	zs_addr_str(p->family, p->addr, a, sizeof(a));
	if (p->len == (p->family == 4 ? 32 : 128))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

bool zs_prefix_contains(const struct zs_prefix *outer, const struct zs_prefix *inner)
{
	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	for (int bit = 0; bit < outer->len; bit++) {
		uint8_t m = 0x80 >> (bit % 8);
		if ((outer->addr[bit / 8] & m) != (inner->addr[bit / 8] & m))
			return false;
	}
	return true;
}

void zs_prefix_truncate(struct zs_prefix *p, unsigned len)
{
	if (len > p->len)
		return;
	p->len = (uint8_t)len;
	/* Every bit from `len` on cleared: the partial byte, then whole bytes. */
	unsigned byte = len / 8;
	if (len % 8)
		p->addr[byte++] &= (uint8_t)(0xff << (8 - len % 8));
	if (byte < sizeof(p->addr))
		memset(p->addr + byte, 0, sizeof(p->addr) - byte);
}

int zs_prefix_cmp(const struct zs_prefix *a, const struct zs_prefix *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	int c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return (int)a->len - (int)b->len;
}

uint64_t zs_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void zs_rfc3339(uint64_t ns, char *buf, size_t len)
{
	/* Records come in bursts within one second: format the date once per second. */
	static __thread time_t last_sec = -1;
	static __thread char head[32];
	time_t sec = (time_t)(ns / 1000000000ull);
	uint64_t frac = ns % 1000000000ull;
	char out[48];

	if (sec != last_sec) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = sec;
	}
	size_t h = strlen(head);
	memcpy(out, head, h);
	out[h] = '.';
	for (int i = 9; i > 0; i--) {
		out[h + (size_t)i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	out[h + 10] = 'Z';
	out[h + 11] = '\0';
	if (len >= h + 12)
		memcpy(buf, out, h + 12);
	else
		snprintf(buf, len, "%.*s", (int)(len ? len - 1 : 0), out);
}

int zs_mkdir_p(const char *path, unsigned mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int zs_write_atomic(const char *path, const void *data, size_t len)
{
	char *tmp = zs_xasprintf("%s.tmp.%d", path, (int)getpid());
	const char *p = data;
	int fd, err = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

int zs_read_file(const char *path, char **out, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
	size_t cap = 4096, n = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	buf = zs_xcalloc(cap, 1);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = zs_xrealloc(buf, cap, 1);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			close(fd);
			free(buf);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

uint32_t zs_fnv1a(const void *data, size_t len, uint32_t h)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

// SPDX-License-Identifier: MIT
/*
 * Unit tests for the IPFIX exporter (userspace/ipfix.c). The bytes are read
 * back by a small collector written here from RFC 7011 (header, sets,
 * template records, variable-length fields) that decodes data records
 * through the templates it was sent, as a real collector does: so the
 * templates are checked against the data, not only against constants.
 * Both families; the enterprise bit and PENs (RFC 5103 reverse elements and
 * ours); forwardingStatus; the policy name in one- and three-octet length
 * form and cut at a UTF-8 boundary; sequence numbers across messages; the
 * template refresh; a send that fails (counted, never blocking).
 *
 * The exporter is also run for real over UDP on 127.0.0.1 (a socket this
 * test owns). And this binary is the e2e test's exporter:
 *
 *   test_ipfix --send HOST:PORT [PEN]
 *
 * sends the fixed records of sample_records() through zs_ipfix_open/export/
 * flush (two messages: the first three records, then the rest) and prints
 * the exporter's counters. tests/e2e/test_ipfix.sh checks what a real
 * collector decoded against the same list.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "telemetry/ipfix.h"
#include "util/util.h"

#define PEN ZS_IPFIX_PEN_EXAMPLE
#define T0 1700000000000000000ull /* 2023-11-14T22:13:20Z, in ns */
#define SEC 1000000000ull

/* ---- a collector, from RFC 7011 ------------------------------------------- */

struct tfield {
	uint16_t id; /* without the enterprise bit */
	uint32_t pen; /* 0: IANA */
	uint16_t len; /* 65535: variable */
};

struct tmpl {
	uint16_t id;
	int n;
	struct tfield f[32];
};

struct drec {
	uint16_t tid;
	int n;
	struct {
		uint16_t id;
		uint32_t pen;
		const uint8_t *v;
		uint16_t len;
		uint8_t len_octets; /* 0 fixed, 1 or 3 variable */
	} f[32];
};

struct session { /* what a collector keeps per (exporter, domain) */
	int ntmpl;
	struct tmpl t[4];
};

struct decoded {
	uint16_t version, length;
	uint32_t export_time, sequence, domain;
	int nsets;
	uint16_t set_id[16];
	int ntmpl_sets;
	int nrec;
	struct drec r[64];
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static uint64_t rdn(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static const struct tmpl *find_tmpl(const struct session *s, uint16_t id)
{
	for (int i = 0; i < s->ntmpl; i++)
		if (s->t[i].id == id)
			return &s->t[i];
	return NULL;
}

static void decode_templates(struct session *s, const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		assert_true(end - p >= 4);
		struct tmpl t = { .id = rd16(p), .n = rd16(p + 2) };
		p += 4;
		assert_true(t.id >= 256);
		assert_true(t.n > 0 && t.n <= 32);
		for (int i = 0; i < t.n; i++) {
			assert_true(end - p >= 4);
			uint16_t id = rd16(p);
			t.f[i].id = id & 0x7fff;
			t.f[i].len = rd16(p + 2);
			p += 4;
			if (id & 0x8000) {
				assert_true(end - p >= 4);
				t.f[i].pen = rd32(p);
				assert_int_not_equal(t.f[i].pen, 0);
				p += 4;
			}
		}
		struct tmpl *slot = (struct tmpl *)find_tmpl(s, t.id);
		if (!slot) {
			assert_true(s->ntmpl < 4);
			slot = &s->t[s->ntmpl++];
		}
		*slot = t;
	}
	assert_ptr_equal(p, end);
}

static void decode_data(const struct session *s, uint16_t tid, const uint8_t *p, const uint8_t *end,
			struct decoded *d)
{
	const struct tmpl *t = find_tmpl(s, tid);

	assert_non_null(t); /* data before its template: the exporter's bug */
	while (p < end) {
		assert_true(d->nrec < 64);
		struct drec *r = &d->r[d->nrec++];
		r->tid = tid;
		r->n = t->n;
		for (int i = 0; i < t->n; i++) {
			uint16_t len = t->f[i].len;
			r->f[i].len_octets = 0;
			if (len == 65535) { /* RFC 7011 section 7 */
				assert_true(end - p >= 1);
				len = *p++;
				r->f[i].len_octets = 1;
				if (len == 255) {
					assert_true(end - p >= 2);
					len = rd16(p);
					p += 2;
					r->f[i].len_octets = 3;
				}
			}
			assert_true(end - p >= len);
			r->f[i].id = t->f[i].id;
			r->f[i].pen = t->f[i].pen;
			r->f[i].v = p;
			r->f[i].len = len;
			p += len;
		}
	}
	assert_ptr_equal(p, end); /* we never pad */
}

static void decode(struct session *s, const uint8_t *buf, size_t len, struct decoded *d)
{
	const uint8_t *p, *end = buf + len;

	memset(d, 0, sizeof(*d));
	assert_true(len >= 16);
	d->version = rd16(buf);
	d->length = rd16(buf + 2);
	d->export_time = rd32(buf + 4);
	d->sequence = rd32(buf + 8);
	d->domain = rd32(buf + 12);
	assert_int_equal(d->version, 10);
	assert_int_equal(d->length, len);
	for (p = buf + 16; p < end;) {
		assert_true(end - p >= 4);
		uint16_t id = rd16(p), slen = rd16(p + 2);
		assert_true(slen >= 4 && slen <= end - p);
		assert_true(d->nsets < 16);
		d->set_id[d->nsets++] = id;
		if (id == 2) {
			d->ntmpl_sets++;
			decode_templates(s, p + 4, p + slen);
		} else {
			assert_true(id >= 256);
			decode_data(s, id, p + 4, p + slen, d);
		}
		p += slen;
	}
}

/* The field (pen, id) of a record; fails the test when absent. */
static int field(const struct drec *r, uint32_t pen, uint16_t id)
{
	for (int i = 0; i < r->n; i++)
		if (r->f[i].pen == pen && r->f[i].id == id)
			return i;
	fail_msg("field %u/%u missing", pen, id);
	return -1;
}

static uint64_t val(const struct drec *r, uint32_t pen, uint16_t id)
{
	int i = field(r, pen, id);

	assert_true(r->f[i].len <= 8);
	return rdn(r->f[i].v, r->f[i].len);
}

static uint16_t flen(const struct drec *r, uint32_t pen, uint16_t id)
{
	return r->f[field(r, pen, id)].len;
}

/* ---- records ------------------------------------------------------------ */

static void addr(uint8_t out[16], int family, const char *s)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, s, out), 1);
}

static struct zs_flow_rec rec4(void)
{
	struct zs_flow_rec r = {
		.type = ZS_REC_END,
		.verdict = ZS_VERDICT_ALLOW,
		.family = 4,
		.proto = 6,
		.end_reason = ZS_END_OF_FLOW,
		.tcp_flags = 0x1b, /* FIN SYN PSH ACK */
		.time_ns = T0,
		.start_ns = T0 - 5 * SEC + 123456789,
		.last_ns = T0 - 1 * SEC + 987654321,
		.packets = { 10, 8 },
		.bytes = { 1500, 6000 },
		.ifindex = 5,
		.policy = "shop/api",
		.revision = 7,
	};
	addr(r.src.addr, 4, "10.99.0.11");
	addr(r.dst.addr, 4, "10.99.0.12");
	r.src.port = 40001;
	r.dst.port = 8080;
	r.src.identity = 1001;
	r.dst.identity = 1002;
	return r;
}

static struct zs_flow_rec rec6_icmp(void)
{
	struct zs_flow_rec r = {
		.type = ZS_REC_NEW,
		.verdict = ZS_VERDICT_AUDIT,
		.family = 6,
		.proto = 58,
		.icmp_type = 128,
		.icmp_code = 0,
		.time_ns = T0,
		.start_ns = T0,
		.last_ns = T0,
		.packets = { 1, 0 },
		.bytes = { 104, 0 },
		.ifindex = 9,
		.policy = "shop/audit-db",
		.revision = 8,
	};
	addr(r.src.addr, 6, "fd00:99::11");
	addr(r.dst.addr, 6, "fd00:99::13");
	r.src.identity = 1001;
	r.dst.identity = 1003;
	return r;
}

static struct zs_flow_rec rec_denied(void)
{
	struct zs_flow_rec r = rec4();

	r.type = ZS_REC_NEW;
	r.verdict = ZS_VERDICT_DENY;
	r.reason = ZS_DROP_DEFAULT_DENY;
	r.end_reason = ZS_END_NONE;
	r.tcp_flags = 0x02;
	r.packets[0] = 1, r.packets[1] = 0;
	r.bytes[0] = 60, r.bytes[1] = 0;
	r.dst.port = 22;
	r.policy = "default-deny";
	return r;
}

/*
 * What `--send` exports and tests/e2e/test_ipfix.sh expects (addresses are
 * only data here: the records go to the collector).
 */
static size_t sample_records(struct zs_flow_rec *v, uint64_t now)
{
	size_t n = 0;
	struct zs_flow_rec r;

	r = rec4(); /* tcp allowed, ended by FIN */
	v[n++] = r;
	r = rec4(); /* udp allowed, idle timeout */
	r.proto = 17, r.tcp_flags = 0, r.end_reason = ZS_END_IDLE;
	addr(r.src.addr, 4, "10.99.0.12"), addr(r.dst.addr, 4, "10.99.0.13");
	r.src.port = 5353, r.dst.port = 53;
	r.packets[0] = 3, r.packets[1] = 3, r.bytes[0] = 200, r.bytes[1] = 400;
	r.src.identity = 1002, r.dst.identity = 1003, r.policy = "shop/dns";
	v[n++] = r;
	r = rec_denied(); /* tcp denied by default deny */
	addr(r.src.addr, 4, "10.99.0.66"), addr(r.dst.addr, 4, "10.99.0.13");
	r.src.port = 40066, r.dst.port = 5432, r.src.identity = 1066, r.dst.identity = 1003;
	v[n++] = r;
	r = rec4(); /* IPv6 tcp allowed, an update */
	r.type = ZS_REC_UPDATE, r.family = 6, r.end_reason = ZS_END_ACTIVE, r.tcp_flags = 0x18;
	addr(r.src.addr, 6, "fd00:99::11"), addr(r.dst.addr, 6, "fd00:99::12");
	r.src.port = 40002, r.packets[0] = 5, r.packets[1] = 4, r.bytes[0] = 700, r.bytes[1] = 900;
	v[n++] = r;
	v[n++] = rec6_icmp(); /* ICMPv6 echo, audit */
	r = rec_denied(); /* ICMP echo denied by a policy */
	r.proto = 1, r.icmp_type = 8, r.icmp_code = 0, r.tcp_flags = 0, r.reason = ZS_DROP_POLICY_DENY;
	r.src.port = 0, r.dst.port = 0, r.bytes[0] = 84, r.policy = "shop/no-ping";
	r.src.identity = 1066, r.dst.identity = 1002;
	addr(r.src.addr, 4, "10.99.0.66"), addr(r.dst.addr, 4, "10.99.0.12");
	v[n++] = r;
	for (size_t i = 0; i < n; i++) {
		v[i].time_ns = now;
		v[i].start_ns = now - 5 * SEC;
		v[i].last_ns = now - 1 * SEC;
	}
	return n;
}

/* ---- tests -------------------------------------------------------------- */

static size_t encode(uint8_t *buf, size_t cap, uint32_t seq, bool templates,
		     const struct zs_flow_rec *recs, size_t n)
{
	struct zs_ipfix_hdr h = { .export_time = T0 / SEC, .sequence = seq, .domain = 42 };
	size_t done;
	int len = zs_ipfix_encode(buf, cap, &h, PEN, templates, recs, n, &done);

	assert_true(len > 0);
	assert_int_equal(done, n);
	return (size_t)len;
}

static void test_header_and_templates(void **state)
{
	(void)state;
	uint8_t buf[1500];
	struct session s = { 0 };
	struct decoded d;
	struct zs_flow_rec r = rec4();

	decode(&s, buf, encode(buf, sizeof(buf), 77, true, &r, 1), &d);
	assert_int_equal(d.export_time, T0 / SEC);
	assert_int_equal(d.sequence, 77);
	assert_int_equal(d.domain, 42);
	assert_int_equal(d.nsets, 2);
	assert_int_equal(d.set_id[0], 2);
	assert_int_equal(d.set_id[1], 256);
	assert_int_equal(s.ntmpl, 2);

	for (int v6 = 0; v6 < 2; v6++) {
		const struct tmpl *t = find_tmpl(&s, v6 ? 257 : 256);
		/* IANA id, PEN (0 = IANA), length, in template order */
		static const struct tfield want4[] = {
			{ 152, 0, 8 }, { 153, 0, 8 }, { 1, 0, 8 }, { 2, 0, 8 },
			{ 1, 29305, 8 }, { 2, 29305, 8 }, { 8, 0, 4 }, { 12, 0, 4 },
			{ 10, 0, 4 }, { 14, 0, 4 }, { 7, 0, 2 }, { 11, 0, 2 }, { 32, 0, 2 },
			{ 6, 0, 2 }, { 4, 0, 1 }, { 136, 0, 1 }, { 89, 0, 1 },
			{ 1, PEN, 4 }, { 2, PEN, 4 }, { 6, PEN, 4 }, { 4, PEN, 1 }, { 5, PEN, 1 },
			{ 7, PEN, 1 }, { 3, PEN, 65535 },
		};
		assert_non_null(t);
		assert_int_equal(t->n, ZS_ARRAY_SIZE(want4));
		for (int i = 0; i < t->n; i++) {
			struct tfield w = want4[i];
			if (v6 && w.pen == 0 && (w.id == 8 || w.id == 12)) {
				w.id = w.id == 8 ? 27 : 28;
				w.len = 16;
			}
			if (v6 && w.pen == 0 && w.id == 32)
				w.id = 139;
			assert_int_equal(t->f[i].id, w.id);
			assert_int_equal(t->f[i].pen, w.pen);
			assert_int_equal(t->f[i].len, w.len);
		}
	}

	/* The raw bytes of the first enterprise field: id | 0x8000, length, PEN. */
	static const uint8_t rev_octets[] = { 0x80, 0x01, 0x00, 0x08, 0x00, 0x00, 0x72, 0x79 };
	assert_memory_equal(buf + 16 + 4 + 4 + 4 * 4, rev_octets, sizeof(rev_octets));
}

static void test_ipv4_record(void **state)
{
	(void)state;
	uint8_t buf[1500];
	struct session s = { 0 };
	struct decoded d;
	struct zs_flow_rec r = rec4();

	decode(&s, buf, encode(buf, sizeof(buf), 0, true, &r, 1), &d);
	assert_int_equal(d.nrec, 1);
	const struct drec *x = &d.r[0];
	assert_int_equal(x->tid, 256);
	assert_int_equal(val(x, 0, 152), (T0 - 5 * SEC + 123456789) / 1000000);
	assert_int_equal(val(x, 0, 153), (T0 - 1 * SEC + 987654321) / 1000000);
	assert_int_equal(val(x, 0, 1), 1500);
	assert_int_equal(val(x, 0, 2), 10);
	assert_int_equal(val(x, 29305, 1), 6000);
	assert_int_equal(val(x, 29305, 2), 8);
	assert_int_equal(val(x, 0, 8), 0x0a63000b);   /* 10.99.0.11 */
	assert_int_equal(val(x, 0, 12), 0x0a63000c);  /* 10.99.0.12 */
	assert_int_equal(val(x, 0, 10), 5);
	assert_int_equal(val(x, 0, 14), 0);
	assert_int_equal(val(x, 0, 7), 40001);
	assert_int_equal(val(x, 0, 11), 8080);
	assert_int_equal(val(x, 0, 32), 0);
	assert_int_equal(val(x, 0, 6), 0x1b);
	assert_int_equal(val(x, 0, 4), 6);
	assert_int_equal(val(x, 0, 136), 3);
	assert_int_equal(val(x, 0, 89), 0x40); /* Forwarded: unknown */
	assert_int_equal(flen(x, 0, 89), 1);
	assert_int_equal(val(x, PEN, ZS_IE_SRC_IDENTITY), 1001);
	assert_int_equal(val(x, PEN, ZS_IE_DST_IDENTITY), 1002);
	assert_int_equal(val(x, PEN, ZS_IE_POLICY_REVISION), 7);
	assert_int_equal(val(x, PEN, ZS_IE_VERDICT), ZS_IPFIX_ALLOWED);
	assert_int_equal(val(x, PEN, ZS_IE_RECORD_TYPE), ZS_REC_END);
	assert_int_equal(val(x, PEN, ZS_IE_DROP_REASON), 0);
	int i = field(x, PEN, ZS_IE_POLICY_NAME);
	assert_int_equal(x->f[i].len_octets, 1);
	assert_int_equal(x->f[i].len, 8);
	assert_memory_equal(x->f[i].v, "shop/api", 8);
}

static void test_ipv6_icmp_record(void **state)
{
	(void)state;
	uint8_t buf[1500], want_src[16], want_dst[16];
	struct session s = { 0 };
	struct decoded d;
	struct zs_flow_rec r = rec6_icmp();

	decode(&s, buf, encode(buf, sizeof(buf), 0, true, &r, 1), &d);
	assert_int_equal(d.nrec, 1);
	const struct drec *x = &d.r[0];
	assert_int_equal(x->tid, 257);
	addr(want_src, 6, "fd00:99::11");
	addr(want_dst, 6, "fd00:99::13");
	assert_int_equal(flen(x, 0, 27), 16);
	assert_memory_equal(x->f[field(x, 0, 27)].v, want_src, 16);
	assert_memory_equal(x->f[field(x, 0, 28)].v, want_dst, 16);
	assert_int_equal(val(x, 0, 139), 128 << 8 | 0);
	assert_int_equal(val(x, 0, 7), 0);
	assert_int_equal(val(x, 0, 11), 0);
	assert_int_equal(val(x, 0, 6), 0);
	assert_int_equal(val(x, 0, 4), 58);
	assert_int_equal(val(x, 0, 152), T0 / 1000000);
	assert_int_equal(val(x, 0, 153), T0 / 1000000);
	assert_int_equal(val(x, 0, 1), 104);
	assert_int_equal(val(x, 29305, 1), 0);
	assert_int_equal(val(x, 0, 89), 0x40); /* audit lets it through */
	assert_int_equal(val(x, PEN, ZS_IE_VERDICT), ZS_IPFIX_AUDIT);
	assert_int_equal(val(x, PEN, ZS_IE_RECORD_TYPE), ZS_REC_NEW);
	assert_int_equal(val(x, 0, 136), 0);
	int i = field(x, PEN, ZS_IE_POLICY_NAME);
	assert_int_equal(x->f[i].len, strlen("shop/audit-db"));
	assert_memory_equal(x->f[i].v, "shop/audit-db", x->f[i].len);
}

static void test_forwarding_status(void **state)
{
	(void)state;
	static const struct {
		uint8_t type, verdict, reason, fwd, ipfix_verdict, drop_reason;
	} rows[] = {
		{ ZS_REC_NEW, ZS_VERDICT_ALLOW, 0, 0x40, 1, 0 },
		{ ZS_REC_NEW, ZS_VERDICT_AUDIT, 0, 0x40, 3, 0 },
		{ ZS_REC_NEW, ZS_VERDICT_DENY, ZS_DROP_DEFAULT_DENY, 0x81, 2, ZS_DROP_DEFAULT_DENY },
		{ ZS_REC_NEW, ZS_VERDICT_NONE, ZS_DROP_DEFAULT_DENY, 0x81, 2, ZS_DROP_DEFAULT_DENY },
		{ ZS_REC_DENIED, ZS_VERDICT_DENY, ZS_DROP_POLICY_DENY, 0x81, 2, ZS_DROP_POLICY_DENY },
		{ ZS_REC_REVOKED, ZS_VERDICT_DENY, ZS_DROP_REVOKED, 0x81, 2, ZS_DROP_REVOKED },
		{ ZS_REC_NEW, ZS_VERDICT_DENY, ZS_DROP_SPOOFED_SRC, 0x80, 2, ZS_DROP_SPOOFED_SRC },
		{ ZS_REC_NEW, ZS_VERDICT_DENY, ZS_DROP_BAD_HEADER, 0x80, 2, ZS_DROP_BAD_HEADER },
	};

	for (size_t k = 0; k < ZS_ARRAY_SIZE(rows); k++) {
		uint8_t buf[1500];
		struct session s = { 0 };
		struct decoded d;
		struct zs_flow_rec r = rec_denied();

		r.type = rows[k].type;
		r.verdict = rows[k].verdict;
		r.reason = rows[k].reason;
		decode(&s, buf, encode(buf, sizeof(buf), 0, true, &r, 1), &d);
		assert_int_equal(val(&d.r[0], 0, 89), rows[k].fwd);
		assert_int_equal(val(&d.r[0], PEN, ZS_IE_VERDICT), rows[k].ipfix_verdict);
		assert_int_equal(val(&d.r[0], PEN, ZS_IE_DROP_REASON), rows[k].drop_reason);
		assert_int_equal(val(&d.r[0], PEN, ZS_IE_RECORD_TYPE), rows[k].type);
	}
}

static void test_mixed_families_sets(void **state)
{
	(void)state;
	uint8_t buf[1500];
	struct session s = { 0 };
	struct decoded d;
	struct zs_flow_rec v[4] = { rec4(), rec4(), rec6_icmp(), rec4() };

	decode(&s, buf, encode(buf, sizeof(buf), 5, true, v, 4), &d);
	assert_int_equal(d.nsets, 4);
	assert_int_equal(d.set_id[0], 2);
	assert_int_equal(d.set_id[1], 256); /* two IPv4 records share a set */
	assert_int_equal(d.set_id[2], 257);
	assert_int_equal(d.set_id[3], 256);
	assert_int_equal(d.nrec, 4);

	/* Without templates the session still decodes from what it learned. */
	decode(&s, buf, encode(buf, sizeof(buf), 9, false, v, 4), &d);
	assert_int_equal(d.ntmpl_sets, 0);
	assert_int_equal(d.set_id[0], 256);
	assert_int_equal(d.nrec, 4);
	assert_int_equal(d.sequence, 9);
}

static void test_long_policy_name(void **state)
{
	(void)state;
	uint8_t buf[4000];
	struct session s = { 0 };
	struct decoded d;
	struct zs_flow_rec r = rec4();
	char name[700];

	/* 300 bytes: the three-octet length form */
	memset(name, 'a', 300);
	name[300] = '\0';
	r.policy = name;
	decode(&s, buf, encode(buf, sizeof(buf), 0, true, &r, 1), &d);
	int i = field(&d.r[0], PEN, ZS_IE_POLICY_NAME);
	assert_int_equal(d.r[0].f[i].len_octets, 3);
	assert_int_equal(d.r[0].f[i].len, 300);

	/* longer than ZS_IPFIX_NAME_MAX, a 2-byte "é" across the cut: cut before it */
	memset(name, 'b', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	name[ZS_IPFIX_NAME_MAX - 1] = (char)0xc3;
	name[ZS_IPFIX_NAME_MAX] = (char)0xa9;
	decode(&s, buf, encode(buf, sizeof(buf), 0, true, &r, 1), &d);
	i = field(&d.r[0], PEN, ZS_IE_POLICY_NAME);
	assert_int_equal(d.r[0].f[i].len, ZS_IPFIX_NAME_MAX - 1);

	/* none: zero length */
	r.policy = NULL;
	decode(&s, buf, encode(buf, sizeof(buf), 0, true, &r, 1), &d);
	i = field(&d.r[0], PEN, ZS_IE_POLICY_NAME);
	assert_int_equal(d.r[0].f[i].len_octets, 1);
	assert_int_equal(d.r[0].f[i].len, 0);
}

static void test_encode_stops_when_full(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct zs_ipfix_hdr h = { 0 };
	struct zs_flow_rec v[20];
	struct session s = { 0 };
	struct decoded d;
	size_t done;
	int len;

	for (int i = 0; i < 20; i++)
		v[i] = rec4();
	len = zs_ipfix_encode(buf, sizeof(buf), &h, PEN, true, v, 20, &done);
	assert_true(len > 0 && len <= 512);
	assert_true(done > 0 && done < 20);
	decode(&s, buf, (size_t)len, &d);
	assert_int_equal(d.nrec, done);
	assert_int_equal(zs_ipfix_encode(buf, 100, &h, PEN, true, v, 1, &done), -ENOSPC);
}

/* ---- the exporter over UDP on 127.0.0.1 ---------------------------------- */

struct rx {
	int fd;
	char where[64];
};

static void rx_open(struct rx *rx)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct timeval tv = { .tv_sec = 2 };

	rx->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(rx->fd >= 0);
	assert_int_equal(bind(rx->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(rx->fd, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(setsockopt(rx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	snprintf(rx->where, sizeof(rx->where), "127.0.0.1:%u", ntohs(a.sin_port));
}

static void rx_msg(struct rx *rx, struct session *s, uint8_t *buf, struct decoded *d)
{
	ssize_t n = recv(rx->fd, buf, 65536, 0);

	assert_true(n > 0);
	decode(s, buf, (size_t)n, d);
}

static bool rx_empty(struct rx *rx)
{
	uint8_t b[16];

	return recv(rx->fd, b, sizeof(b), MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

static void test_exporter_sequence_and_refresh(void **state)
{
	(void)state;
	static uint8_t buf[65536];
	struct rx rx;
	struct zs_ipfix *x;
	struct zs_ipfix_stats st;
	struct session s = { 0 };
	struct decoded d;
	struct zs_flow_rec r4 = rec4(), r6 = rec6_icmp();
	uint64_t now = T0;

	rx_open(&rx);
	assert_int_equal(zs_ipfix_open(&x, rx.where, PEN, 42), 0);

	/* Nothing buffered: flush sends nothing. */
	assert_int_equal(zs_ipfix_flush(x, now), 0);
	assert_true(rx_empty(&rx));

	/* First message: templates, 3 records, sequence 0. */
	assert_int_equal(zs_ipfix_export(x, &r4, now), 0);
	assert_int_equal(zs_ipfix_export(x, &r6, now), 0);
	assert_int_equal(zs_ipfix_export(x, &r4, now), 0);
	assert_true(rx_empty(&rx)); /* buffered until flushed */
	assert_int_equal(zs_ipfix_flush(x, now + SEC), 0);
	rx_msg(&rx, &s, buf, &d);
	assert_int_equal(d.sequence, 0);
	assert_int_equal(d.domain, 42);
	assert_int_equal(d.export_time, (now + SEC) / SEC);
	assert_int_equal(d.ntmpl_sets, 1);
	assert_int_equal(d.nrec, 3);
	assert_int_equal(d.nsets, 4); /* templates, 256, 257, 256 */

	/* Second: no templates within the refresh interval; sequence 3. */
	assert_int_equal(zs_ipfix_export(x, &r4, now + 2 * SEC), 0);
	assert_int_equal(zs_ipfix_flush(x, now + 2 * SEC), 0);
	rx_msg(&rx, &s, buf, &d);
	assert_int_equal(d.sequence, 3);
	assert_int_equal(d.ntmpl_sets, 0);
	assert_int_equal(d.nrec, 1);
	assert_int_equal(val(&d.r[0], 0, 7), 40001);

	/* After the refresh interval the templates come again. */
	now += ZS_IPFIX_TEMPLATE_REFRESH_S * SEC;
	assert_int_equal(zs_ipfix_export(x, &r6, now), 0);
	assert_int_equal(zs_ipfix_flush(x, now), 0);
	rx_msg(&rx, &s, buf, &d);
	assert_int_equal(d.sequence, 4);
	assert_int_equal(d.ntmpl_sets, 1);

	/* Filling a message sends it without a flush; sequences stay exact. */
	uint32_t seq = 5, got = 0;
	for (int i = 0; i < 40; i++)
		assert_int_equal(zs_ipfix_export(x, &r6, now), 0);
	rx_msg(&rx, &s, buf, &d);
	assert_true(d.length <= ZS_IPFIX_MAX_MESSAGE);
	assert_int_equal(d.sequence, seq);
	assert_true(d.nrec > 1 && d.nrec < 40);
	got += d.nrec;
	while (!rx_empty(&rx) || got < 40) {
		if (got < 40 && rx_empty(&rx))
			assert_int_equal(zs_ipfix_flush(x, now), 0);
		rx_msg(&rx, &s, buf, &d);
		assert_int_equal(d.sequence, seq + got);
		got += d.nrec;
	}
	assert_int_equal(got, 40);

	zs_ipfix_stats(x, &st);
	assert_int_equal(st.sent_records, 45);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.lost_records, 0);
	assert_true(st.sent_messages >= 5);
	zs_ipfix_close(x);
	close(rx.fd);
}

/*
 * Conntrack totals become deltas per flow; event records (NEW, DENIED, a
 * REVOKED event's packet) add to the flow's tally; END forgets the flow.
 */
static void test_exporter_deltas(void **state)
{
	(void)state;
	static uint8_t buf[65536];
	static const struct {
		uint8_t type;
		int flow; /* which 5-tuple */
		uint64_t p0, p1, b0, b1; /* what the record says */
		uint64_t e0, e1, eb0, eb1; /* what goes out */
	} rows[] = {
		{ ZS_REC_NEW, 0, 1, 0, 60, 0, 1, 0, 60, 0 },
		{ ZS_REC_UPDATE, 0, 10, 8, 1500, 6000, 9, 8, 1440, 6000 },
		{ ZS_REC_UPDATE, 0, 10, 8, 1500, 6000, 0, 0, 0, 0 },
		{ ZS_REC_REVOKED, 0, 1, 0, 60, 0, 1, 0, 60, 0 }, /* the event's packet */
		{ ZS_REC_END, 0, 12, 9, 1620, 6100, 1, 1, 60, 100 },
		{ ZS_REC_END, 0, 12, 9, 1620, 6100, 12, 9, 1620, 6100 }, /* forgotten */
		{ ZS_REC_UPDATE, 1, 7, 7, 700, 700, 7, 7, 700, 700 }, /* never seen */
		{ ZS_REC_UPDATE, 1, 3, 2, 300, 200, 3, 2, 300, 200 }, /* below: a new flow */
		{ ZS_REC_UPDATE, 1, 4, 2, 400, 200, 1, 0, 100, 0 },
		{ ZS_REC_NEW, 2, 1, 0, 60, 0, 1, 0, 60, 0 }, /* denied */
		{ ZS_REC_DENIED, 2, 5, 0, 300, 0, 5, 0, 300, 0 },
		{ ZS_REC_DENIED, 2, 3, 0, 180, 0, 3, 0, 180, 0 },
		{ ZS_REC_END, 2, 9, 0, 540, 0, 0, 0, 0, 0 },
		{ ZS_REC_NEW, 0, 1, 0, 60, 0, 1, 0, 60, 0 }, /* the 5-tuple again */
		{ ZS_REC_END, 0, 2, 1, 120, 60, 1, 1, 60, 60 },
	};
	size_t n = ZS_ARRAY_SIZE(rows), got = 0;
	struct rx rx;
	struct zs_ipfix *x;
	struct session s = { 0 };
	struct decoded d;

	rx_open(&rx);
	assert_int_equal(zs_ipfix_open(&x, rx.where, PEN, 1), 0);
	for (size_t i = 0; i < n; i++) {
		struct zs_flow_rec r = rec4();
		r.type = rows[i].type;
		r.src.port = 40000 + rows[i].flow;
		r.packets[0] = rows[i].p0, r.packets[1] = rows[i].p1;
		r.bytes[0] = rows[i].b0, r.bytes[1] = rows[i].b1;
		assert_int_equal(zs_ipfix_export(x, &r, T0), 0);
	}
	assert_int_equal(zs_ipfix_flush(x, T0), 0);
	while (got < n) {
		rx_msg(&rx, &s, buf, &d);
		assert_int_equal(d.sequence, got);
		for (int j = 0; j < d.nrec; j++, got++) {
			const struct drec *r = &d.r[j];
			assert_true(got < n);
			assert_int_equal(val(r, 0, 7), 40000 + rows[got].flow);
			assert_int_equal(val(r, PEN, ZS_IE_RECORD_TYPE), rows[got].type);
			assert_int_equal(val(r, 0, 2), rows[got].e0);
			assert_int_equal(val(r, 29305, 2), rows[got].e1);
			assert_int_equal(val(r, 0, 1), rows[got].eb0);
			assert_int_equal(val(r, 29305, 1), rows[got].eb1);
		}
	}
	zs_ipfix_close(x);
	close(rx.fd);
}

/* A send that fails: counted, records lost, sequence moves on, no blocking. */
static void test_exporter_send_failure(void **state)
{
	(void)state;
	struct zs_ipfix *x;
	struct zs_ipfix_stats st;
	struct zs_flow_rec r = rec4();

	/* Port 0 is refused by sendto() at once: nothing leaves the host. */
	assert_int_equal(zs_ipfix_open(&x, "127.0.0.1:0", PEN, 1), 0);
	assert_int_equal(zs_ipfix_export(x, &r, T0), 0);
	assert_int_equal(zs_ipfix_export(x, &r, T0), 0);
	assert_true(zs_ipfix_flush(x, T0) < 0);
	assert_int_equal(zs_ipfix_export(x, &r, T0), 0);
	assert_true(zs_ipfix_flush(x, T0) < 0);
	zs_ipfix_stats(x, &st);
	assert_int_equal(st.errors, 2);
	assert_int_equal(st.lost_records, 3);
	assert_int_equal(st.sent_records, 0);
	assert_int_equal(st.sent_messages, 0);
	zs_ipfix_close(x);
}

static void test_open_addresses(void **state)
{
	(void)state;
	struct zs_ipfix *x;

	assert_int_equal(zs_ipfix_open(&x, "127.0.0.1:4739", PEN, 1), 0);
	zs_ipfix_close(x);
	assert_int_equal(zs_ipfix_open(&x, "[::1]:4739", PEN, 1), 0);
	zs_ipfix_close(x);
	assert_int_equal(zs_ipfix_open(&x, "::1:4739", PEN, 1), 0);
	zs_ipfix_close(x);
	assert_int_equal(zs_ipfix_open(&x, "localhost:4739", PEN, 1), 0);
	assert_int_equal(zs_ipfix_set_max_message(x, 100), -EINVAL);
	assert_int_equal(zs_ipfix_set_max_message(x, 512), 0);
	zs_ipfix_close(x);
	assert_int_equal(zs_ipfix_open(&x, "127.0.0.1", PEN, 1), -EINVAL);
	assert_int_equal(zs_ipfix_open(&x, "127.0.0.1:", PEN, 1), -EINVAL);
	assert_int_equal(zs_ipfix_open(&x, "[::1]4739", PEN, 1), -EINVAL);
	assert_int_equal(zs_ipfix_open(&x, ":4739", PEN, 1), -EINVAL);
	assert_int_equal(zs_ipfix_open(&x, "127.0.0.1:http", PEN, 1) < 0, 1);
	zs_ipfix_close(NULL);
}

/* With 512-byte messages, a long name is cut so any record still fits. */
static void test_small_messages(void **state)
{
	(void)state;
	static uint8_t buf[65536];
	struct rx rx;
	struct zs_ipfix *x;
	struct session s = { 0 };
	struct decoded d;
	struct zs_flow_rec r = rec6_icmp();
	char name[400];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	r.policy = name;
	rx_open(&rx);
	assert_int_equal(zs_ipfix_open(&x, rx.where, PEN, 7), 0);
	assert_int_equal(zs_ipfix_set_max_message(x, 512), 0);
	assert_int_equal(zs_ipfix_export(x, &r, T0), 0);
	assert_int_equal(zs_ipfix_export(x, &r, T0), 0); /* does not fit: the first goes */
	rx_msg(&rx, &s, buf, &d);
	assert_true(d.length <= 512);
	assert_int_equal(d.ntmpl_sets, 1);
	assert_int_equal(d.nrec, 1);
	int i = field(&d.r[0], PEN, ZS_IE_POLICY_NAME);
	assert_true(d.r[0].f[i].len > 64 && d.r[0].f[i].len < 399);
	assert_int_equal(zs_ipfix_flush(x, T0), 0);
	rx_msg(&rx, &s, buf, &d);
	assert_int_equal(d.sequence, 1);
	zs_ipfix_close(x);
	close(rx.fd);
}

/* ---- --send: the e2e test's exporter ----------------------------------- */

static int send_samples(const char *where, uint32_t pen)
{
	struct zs_flow_rec v[8];
	struct zs_ipfix *x;
	struct zs_ipfix_stats st;
	uint64_t now = zs_now_ns(CLOCK_REALTIME);
	size_t n = sample_records(v, now);
	int err = zs_ipfix_open(&x, where, pen, 42);

	if (err) {
		fprintf(stderr, "test_ipfix: %s: %s\n", where, strerror(-err));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		zs_ipfix_export(x, &v[i], now);
		if (i == 2)
			zs_ipfix_flush(x, now); /* two messages: sequence 0, then 3 */
	}
	zs_ipfix_flush(x, now);
	zs_ipfix_stats(x, &st);
	zs_ipfix_close(x);
	printf("sent_records=%llu sent_messages=%llu errors=%llu lost_records=%llu\n",
	       (unsigned long long)st.sent_records, (unsigned long long)st.sent_messages,
	       (unsigned long long)st.errors, (unsigned long long)st.lost_records);
	return st.errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_templates),
		cmocka_unit_test(test_ipv4_record),
		cmocka_unit_test(test_ipv6_icmp_record),
		cmocka_unit_test(test_forwarding_status),
		cmocka_unit_test(test_mixed_families_sets),
		cmocka_unit_test(test_long_policy_name),
		cmocka_unit_test(test_encode_stops_when_full),
		cmocka_unit_test(test_exporter_sequence_and_refresh),
		cmocka_unit_test(test_exporter_deltas),
		cmocka_unit_test(test_exporter_send_failure),
		cmocka_unit_test(test_open_addresses),
		cmocka_unit_test(test_small_messages),
	};

	if (argc >= 3 && !strcmp(argv[1], "--send"))
		return send_samples(argv[2], argc >= 4 ? (uint32_t)strtoul(argv[3], NULL, 0) : PEN);
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--send HOST:PORT [PEN]]\n", argv[0]);
		return 2;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

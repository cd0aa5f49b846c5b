// SPDX-License-Identifier: MIT
/*
 * IPFIX export of flow records; see ipfix.h for the contract and
 * docs/IPFIX.md for the layout. All multi-byte fields are written in network
 * byte order one byte at a time, so nothing here cares about alignment.
 */
#include "telemetry/ipfix.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "telemetry/sink.h"
#include "util/util.h"

#define HDR_LEN 16
#define SET_HDR_LEN 4
#define VARLEN 65535 /* template field length of a variable-length element */
#define ENTERPRISE_BIT 0x8000

/* ---- the templates -------------------------------------------------------- */

enum pen_of { IANA, REVERSE, OURS };

struct field {
	uint16_t id4, id6; /* element id in the IPv4 and the IPv6 template */
	uint8_t len4, len6;
	uint8_t pen;       /* enum pen_of */
	bool var;          /* variable length (the policy name) */
};

/*
 * Record order. 8-byte fields first, then 4, 2, 1 and the string last, so a
 * reader of a hex dump finds them where docs/IPFIX.md says.
 */
static const struct field fields[] = {
	{ 152, 152, 8, 8, IANA },     /* flowStartMilliseconds */
	{ 153, 153, 8, 8, IANA },     /* flowEndMilliseconds */
	{ 1, 1, 8, 8, IANA },         /* octetDeltaCount, initiator -> responder */
	{ 2, 2, 8, 8, IANA },         /* packetDeltaCount */
	{ 1, 1, 8, 8, REVERSE },      /* reverseOctetDeltaCount, responder -> initiator */
	{ 2, 2, 8, 8, REVERSE },      /* reversePacketDeltaCount */
	{ 8, 27, 4, 16, IANA },       /* sourceIPv4Address / sourceIPv6Address */
	{ 12, 28, 4, 16, IANA },      /* destinationIPv4Address / destinationIPv6Address */
	{ 10, 10, 4, 4, IANA },       /* ingressInterface */
	{ 14, 14, 4, 4, IANA },       /* egressInterface */
	{ 7, 7, 2, 2, IANA },         /* sourceTransportPort */
	{ 11, 11, 2, 2, IANA },       /* destinationTransportPort */
	{ 32, 139, 2, 2, IANA },      /* icmpTypeCodeIPv4 / icmpTypeCodeIPv6 */
	{ 6, 6, 2, 2, IANA },         /* tcpControlBits (RFC 7125: 2 octets) */
	{ 4, 4, 1, 1, IANA },         /* protocolIdentifier */
	{ 136, 136, 1, 1, IANA },     /* flowEndReason */
	{ 89, 89, 1, 1, IANA },       /* forwardingStatus (RFC 7270, 1 octet) */
	{ ZS_IE_SRC_IDENTITY, ZS_IE_SRC_IDENTITY, 4, 4, OURS },
	{ ZS_IE_DST_IDENTITY, ZS_IE_DST_IDENTITY, 4, 4, OURS },
	{ ZS_IE_POLICY_REVISION, ZS_IE_POLICY_REVISION, 4, 4, OURS },
	{ ZS_IE_VERDICT, ZS_IE_VERDICT, 1, 1, OURS },
	{ ZS_IE_RECORD_TYPE, ZS_IE_RECORD_TYPE, 1, 1, OURS },
	{ ZS_IE_DROP_REASON, ZS_IE_DROP_REASON, 1, 1, OURS },
	{ ZS_IE_POLICY_NAME, ZS_IE_POLICY_NAME, 0, 0, OURS, true },
};

static uint8_t *put8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, v >> 16);
	return put16(p, v & 0xffff);
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	p = put32(p, v >> 32);
	return put32(p, v & 0xffffffff);
}

static size_t template_len(void)
{
	size_t n = SET_HDR_LEN;

	for (int t = 0; t < 2; t++) {
		n += 4;
		for (size_t i = 0; i < ZS_ARRAY_SIZE(fields); i++)
			n += fields[i].pen == IANA ? 4 : 8;
	}
	return n;
}

int zs_ipfix_put_templates(uint8_t *buf, size_t cap, uint32_t pen)
{
	size_t len = template_len();
	uint8_t *p = buf;

	if (cap < len)
		return -ENOSPC;
	p = put16(p, ZS_IPFIX_SET_TEMPLATE);
	p = put16(p, len);
	for (int v6 = 0; v6 < 2; v6++) {
		p = put16(p, v6 ? ZS_IPFIX_TID_IPV6 : ZS_IPFIX_TID_IPV4);
		p = put16(p, ZS_ARRAY_SIZE(fields));
		for (size_t i = 0; i < ZS_ARRAY_SIZE(fields); i++) {
			const struct field *f = &fields[i];
			uint16_t id = v6 ? f->id6 : f->id4;

			p = put16(p, f->pen == IANA ? id : id | ENTERPRISE_BIT);
			p = put16(p, f->var ? VARLEN : v6 ? f->len6 : f->len4);
			if (f->pen != IANA)
				p = put32(p, f->pen == REVERSE ? ZS_IPFIX_PEN_REVERSE : pen);
		}
	}
	return (int)(p - buf);
}

/* ---- data records --------------------------------------------------------- */

uint16_t zs_ipfix_template_id(const struct zs_flow_rec *r)
{
	return r->family == ZS_AF_INET6 ? ZS_IPFIX_TID_IPV6 : ZS_IPFIX_TID_IPV4;
}

static bool dropped(const struct zs_flow_rec *r)
{
	return r->type == ZS_REC_REVOKED ||
	       (r->verdict != ZS_VERDICT_ALLOW && r->verdict != ZS_VERDICT_AUDIT);
}

static uint8_t fwd_status(const struct zs_flow_rec *r)
{
	if (!dropped(r))
		return ZS_FWD_FORWARDED;
	switch (r->reason) {
	case ZS_REASON_FORWARDED: /* a deny verdict without a reason: policy */
	case ZS_DROP_DEFAULT_DENY:
	case ZS_DROP_POLICY_DENY:
	case ZS_DROP_REVOKED:
		return ZS_FWD_DROPPED_ACL_DENY;
	default: /* malformed, spoofed ...: the exact reason is ZS_IE_DROP_REASON */
		return ZS_FWD_DROPPED;
	}
}

static uint8_t verdict(const struct zs_flow_rec *r)
{
	switch (r->verdict) {
	case ZS_VERDICT_ALLOW: return ZS_IPFIX_ALLOWED;
	case ZS_VERDICT_AUDIT: return ZS_IPFIX_AUDIT;
	default: return ZS_IPFIX_DENIED; /* deny, and none (default deny) */
	}
}

static bool is_icmp(const struct zs_flow_rec *r)
{
	return r->proto == 1 || r->proto == 58;
}

/* Cuts `len` bytes of `s` to at most `max`, not inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

int zs_ipfix_put_record(uint8_t *buf, size_t cap, const struct zs_flow_rec *r, size_t name_max)
{
	bool v6 = r->family == ZS_AF_INET6;
	size_t alen = v6 ? 16 : 4;
	const char *name = r->policy ? r->policy : "";
	size_t nlen = utf8_cut(name, strlen(name), name_max < ZS_IPFIX_NAME_MAX ? name_max : ZS_IPFIX_NAME_MAX);
	size_t need = 6 * 8 + 2 * alen + 2 * 4 + 4 * 2 + 3 + 3 * 4 + 3 + (nlen < 255 ? 1 : 3) + nlen;
	uint64_t start = r->start_ns ? r->start_ns : r->time_ns;
	uint64_t end = r->last_ns > start ? r->last_ns : start;
	uint8_t *p = buf;

	if (cap < need)
		return -ENOSPC;

	p = put64(p, start / 1000000);
	p = put64(p, end / 1000000);
	p = put64(p, r->bytes[0]);
	p = put64(p, r->packets[0]);
	p = put64(p, r->bytes[1]);
	p = put64(p, r->packets[1]);
	memcpy(p, r->src.addr, alen);
	p += alen;
	memcpy(p, r->dst.addr, alen);
	p += alen;
	p = put32(p, r->ifindex);
	p = put32(p, 0); /* egressInterface: the hook sees only where packets enter */
	p = put16(p, r->src.port);
	p = put16(p, r->dst.port);
	p = put16(p, is_icmp(r) ? (uint16_t)(r->icmp_type << 8 | r->icmp_code) : 0);
	p = put16(p, r->proto == 6 ? r->tcp_flags : 0);
	p = put8(p, r->proto);
	p = put8(p, r->end_reason);
	p = put8(p, fwd_status(r));
	p = put32(p, r->src.identity);
	p = put32(p, r->dst.identity);
	p = put32(p, r->revision);
	p = put8(p, verdict(r));
	p = put8(p, r->type);
	p = put8(p, dropped(r) ? r->reason : 0);
	/* RFC 7011 section 7: one length octet, or 255 and two more. */
	if (nlen < 255) {
		p = put8(p, nlen);
	} else {
		p = put8(p, 255);
		p = put16(p, nlen);
	}
	memcpy(p, name, nlen);
	p += nlen;
	return (int)(p - buf);
}

void zs_ipfix_put_header(uint8_t *buf, uint16_t length, const struct zs_ipfix_hdr *h)
{
	uint8_t *p = put16(buf, ZS_IPFIX_VERSION);

	p = put16(p, length);
	p = put32(p, h->export_time);
	p = put32(p, h->sequence);
	put32(p, h->domain);
}

/* ---- a message being built ------------------------------------------------ */

struct msg {
	uint8_t *buf;
	size_t cap, len;
	size_t set_off; /* where the open Data Set starts; 0: none open */
	uint16_t set_tid;
	uint32_t records;
};

static int msg_begin(struct msg *m, bool templates, uint32_t pen)
{
	m->len = HDR_LEN;
	m->set_off = 0;
	m->records = 0;
	if (m->cap < HDR_LEN)
		return -ENOSPC;
	if (templates) {
		int n = zs_ipfix_put_templates(m->buf + m->len, m->cap - m->len, pen);
		if (n < 0)
			return n;
		m->len += n;
	}
	return 0;
}

static void msg_close_set(struct msg *m)
{
	if (m->set_off)
		put16(m->buf + m->set_off + 2, m->len - m->set_off);
	m->set_off = 0;
}

/* Appends an encoded record of template `tid`; -ENOSPC when it does not fit. */
static int msg_add(struct msg *m, uint16_t tid, const uint8_t *rec, size_t len)
{
	bool new_set = !m->set_off || m->set_tid != tid;

	if (m->len + (new_set ? SET_HDR_LEN : 0) + len > m->cap)
		return -ENOSPC;
	if (new_set) {
		msg_close_set(m);
		m->set_off = m->len;
		m->set_tid = tid;
		put16(m->buf + m->len, tid);
		m->len += SET_HDR_LEN;
	}
	memcpy(m->buf + m->len, rec, len);
	m->len += len;
	m->records++;
	return 0;
}

static size_t msg_finish(struct msg *m, const struct zs_ipfix_hdr *h)
{
	msg_close_set(m);
	zs_ipfix_put_header(m->buf, m->len, h);
	return m->len;
}

/* The largest record: fixed IPv6 part, 3 length octets, the name. */
#define REC_MAX (6 * 8 + 2 * 16 + 2 * 4 + 4 * 2 + 3 + 3 * 4 + 3 + 3 + ZS_IPFIX_NAME_MAX)

int zs_ipfix_encode(uint8_t *buf, size_t cap, const struct zs_ipfix_hdr *h, uint32_t pen,
		    bool templates, const struct zs_flow_rec *recs, size_t n, size_t *done)
{
	struct msg m = { .buf = buf, .cap = cap > UINT16_MAX ? UINT16_MAX : cap };
	uint8_t rec[REC_MAX];
	int err;

	*done = 0;
	err = msg_begin(&m, templates, pen);
	if (err)
		return err;
	for (; *done < n; (*done)++) {
		int len = zs_ipfix_put_record(rec, sizeof(rec), &recs[*done], ZS_IPFIX_NAME_MAX);
		if (len < 0 || msg_add(&m, zs_ipfix_template_id(&recs[*done]), rec, len))
			break;
	}
	return (int)msg_finish(&m, h);
}

/* ---- per-flow deltas ------------------------------------------------------- */

#define WAYS 4

/* A flow by its 5-tuple in initiator order; no padding, so memcmp works. */
struct flow_key {
	uint8_t family, proto;
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16];
};
_Static_assert(sizeof(struct flow_key) == 38, "flow_key has padding");

struct flow_slot {
	struct flow_key k;
	bool used;
	uint64_t touched; /* exporter's record count when last used: oldest goes first */
	uint64_t packets[2], bytes[2]; /* exported so far */
};

static struct flow_key flow_key_of(const struct zs_flow_rec *r)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = r->family;
	k.proto = r->proto;
	k.sport = r->src.port;
	k.dport = r->dst.port;
	memcpy(k.saddr, r->src.addr, 16);
	memcpy(k.daddr, r->dst.addr, 16);
	return k;
}

/* The flow's slot; with `add`, a fresh one (the bucket's oldest) when absent. */
static struct flow_slot *flow_slot(struct flow_slot *tab, size_t buckets, const struct flow_key *k,
				   bool add, uint64_t tick)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	struct flow_slot *set, *old;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	set = &tab[(h % buckets) * WAYS];
	old = &set[0];
	for (int w = 0; w < WAYS; w++) {
		if (set[w].used && !memcmp(&set[w].k, k, sizeof(*k))) {
			set[w].touched = tick;
			return &set[w];
		}
		if (!set[w].used || (old->used && set[w].touched < old->touched))
			old = &set[w];
	}
	if (!add)
		return NULL;
	memset(old, 0, sizeof(*old));
	old->k = *k;
	old->used = true;
	old->touched = tick;
	return old;
}

static void tally_reset(struct flow_slot *s)
{
	memset(s->packets, 0, sizeof(s->packets));
	memset(s->bytes, 0, sizeof(s->bytes));
}

static bool covers(const struct zs_flow_rec *r, const struct flow_slot *s)
{
	return r->packets[0] >= s->packets[0] && r->packets[1] >= s->packets[1] &&
	       r->bytes[0] >= s->bytes[0] && r->bytes[1] >= s->bytes[1];
}

/* `out` = `r` with its counters made deltas (see ipfix.h); updates the tally. */
static void flow_delta(struct flow_slot *tab, size_t buckets, uint64_t tick,
		       const struct zs_flow_rec *r, struct zs_flow_rec *out)
{
	struct flow_key k = flow_key_of(r);
	struct flow_slot *s = flow_slot(tab, buckets, &k, r->type != ZS_REC_END, tick);
	bool total = r->type == ZS_REC_UPDATE || r->type == ZS_REC_END || r->type == ZS_REC_REVOKED;

	*out = *r;
	if (!s)
		return; /* the END of a flow we hold nothing for: its totals */
	if (r->type == ZS_REC_NEW) {
		tally_reset(s); /* a flow starts */
	} else if (total && covers(r, s)) {
		for (int i = 0; i < 2; i++) {
			out->packets[i] -= s->packets[i];
			out->bytes[i] -= s->bytes[i];
		}
	} else if (total && r->type != ZS_REC_REVOKED) {
		tally_reset(s); /* below what went out: a new flow on this 5-tuple */
	}
	/* else a DENIED repeat, or a REVOKED event's own packet: increments */
	for (int i = 0; i < 2; i++) {
		s->packets[i] += out->packets[i];
		s->bytes[i] += out->bytes[i];
	}
	if (r->type == ZS_REC_END)
		s->used = false;
}

/* ---- the exporter ----------------------------------------------------------- */

struct zs_ipfix {
	struct zs_sink sink; /* the exporter as a flow record sink (zs_ipfix_sink) */
	int fd;
	struct sockaddr_storage to;
	socklen_t to_len;
	uint32_t pen, domain;
	size_t name_max;     /* so that any record fits a message with templates */
	struct msg m;        /* m.len == 0: no message open */
	bool m_templates;    /* the open message carries the templates */
	uint32_t sequence;   /* data records sent (or lost) before the open message */
	uint64_t tmpl_ns;    /* when templates last went out; 0: not yet */
	struct flow_slot *flows; /* ZS_IPFIX_FLOWS / WAYS buckets */
	uint64_t tick;
	struct zs_ipfix_stats st;
};

#define FLOW_BUCKETS (ZS_IPFIX_FLOWS / WAYS > 0 ? ZS_IPFIX_FLOWS / WAYS : 1)

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. */
static int split_host_port(const char *s, char *host, size_t hlen, const char **port)
{
	const char *colon, *h = s, *he;

	if (*s == '[') {
		he = strchr(s, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		h = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		he = colon;
	}
	if ((size_t)(he - h) >= hlen || he == h || !colon[1])
		return -EINVAL;
	memcpy(host, h, he - h);
	host[he - h] = '\0';
	*port = colon + 1;
	return 0;
}

static int set_max(struct zs_ipfix *x, size_t bytes)
{
	size_t fixed = HDR_LEN + template_len() + SET_HDR_LEN + (REC_MAX - ZS_IPFIX_NAME_MAX);
	uint8_t *buf;

	if (bytes < 512 || bytes > 65507)
		return -EINVAL;
	buf = realloc(x->m.buf, bytes);
	if (!buf)
		return -ENOMEM;
	x->m.buf = buf;
	x->m.cap = bytes;
	x->name_max = bytes - fixed;
	return 0;
}

int zs_ipfix_open(struct zs_ipfix **out, const char *host_port, uint32_t enterprise, uint32_t domain)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct zs_ipfix *x;
	char host[256];
	const char *port;
	int err;

	err = split_host_port(host_port, host, sizeof(host), &port);
	if (err)
		return err;
	x = zs_xcalloc(1, sizeof(*x));
	x->fd = -1;
	x->flows = zs_xcalloc(FLOW_BUCKETS * WAYS, sizeof(*x->flows));
	x->pen = enterprise;
	x->domain = domain;
	err = set_max(x, ZS_IPFIX_MAX_MESSAGE);
	if (err)
		goto err_free;

	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		err = err == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
		goto err_free;
	}
	memcpy(&x->to, ai->ai_addr, ai->ai_addrlen);
	x->to_len = ai->ai_addrlen;
	/* Not connected: an ICMP error for one datagram must not fail the next send. */
	x->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		err = -errno;
		goto err_addr;
	}
	freeaddrinfo(ai);
	*out = x;
	return 0;

err_addr:
	freeaddrinfo(ai);
err_free:
	free(x->flows);
	free(x->m.buf);
	free(x);
	return err;
}

int zs_ipfix_set_max_message(struct zs_ipfix *x, size_t bytes)
{
	zs_ipfix_flush(x, zs_now_ns(CLOCK_REALTIME));
	return set_max(x, bytes);
}

static int send_open(struct zs_ipfix *x, uint64_t now_ns)
{
	struct zs_ipfix_hdr h = {
		.export_time = (uint32_t)(now_ns / 1000000000ull),
		.sequence = x->sequence,
		.domain = x->domain,
	};
	uint32_t n = x->m.records;
	size_t len;
	int err = 0;

	if (!x->m.len)
		return 0;
	len = msg_finish(&x->m, &h);
	if (sendto(x->fd, x->m.buf, len, MSG_DONTWAIT, (struct sockaddr *)&x->to, x->to_len) < 0) {
		err = -errno;
		x->st.errors++;
		x->st.lost_records += n;
		if (x->m_templates)
			x->tmpl_ns = 0; /* the collector did not get them: next message again */
	} else {
		x->st.sent_messages++;
		x->st.sent_records += n;
	}
	/* Lost records count too: the collector sees the gap. */
	x->sequence += n;
	x->m.len = 0;
	return err;
}

static bool templates_due(const struct zs_ipfix *x, uint64_t now_ns)
{
	return !x->tmpl_ns || now_ns < x->tmpl_ns ||
	       now_ns - x->tmpl_ns >= ZS_IPFIX_TEMPLATE_REFRESH_S * 1000000000ull;
}

int zs_ipfix_export(struct zs_ipfix *x, const struct zs_flow_rec *r, uint64_t now_ns)
{
	uint8_t rec[REC_MAX];
	uint16_t tid = zs_ipfix_template_id(r);
	struct zs_flow_rec d;
	int len, err;

	if (r->family != ZS_AF_INET && r->family != ZS_AF_INET6)
		return -EAFNOSUPPORT;
	flow_delta(x->flows, FLOW_BUCKETS, ++x->tick, r, &d);
	len = zs_ipfix_put_record(rec, sizeof(rec), &d, x->name_max);

	if (len < 0)
		return len;
	if (x->m.len && msg_add(&x->m, tid, rec, len) == 0)
		return 0;
	err = send_open(x, now_ns);
	x->m_templates = templates_due(x, now_ns);
	if (x->m_templates)
		x->tmpl_ns = now_ns ? now_ns : 1;
	msg_begin(&x->m, x->m_templates, x->pen);
	/* name_max makes this fit an empty message. */
	msg_add(&x->m, tid, rec, len);
	return err;
}

int zs_ipfix_flush(struct zs_ipfix *x, uint64_t now_ns)
{
	return send_open(x, now_ns);
}

void zs_ipfix_stats(const struct zs_ipfix *x, struct zs_ipfix_stats *st)
{
	*st = x->st;
}

void zs_ipfix_close(struct zs_ipfix *x)
{
	if (!x)
		return;
	zs_ipfix_flush(x, zs_now_ns(CLOCK_REALTIME));
	close(x->fd);
	free(x->flows);
	free(x->m.buf);
	free(x);
}

/* ---- the exporter as a sink ------------------------------------------------ */

static int sink_emit(struct zs_sink *s, const struct zs_flow_rec *rec, const char *line, size_t len)
{
	(void)line;
	(void)len;
	if (!rec)
		return 0; /* a line that is no flow record (`lost`): nothing to export */
	return zs_ipfix_export(ZS_SINK_OF(s, struct zs_ipfix, sink), rec, zs_now_ns(CLOCK_REALTIME));
}

/* Once a second: what is buffered goes out (between ticks, only full messages). */
static void sink_tick(struct zs_sink *s, uint64_t now_ns)
{
	zs_ipfix_flush(ZS_SINK_OF(s, struct zs_ipfix, sink), now_ns);
}

static uint64_t sink_lost(const struct zs_sink *s)
{
	return ZS_SINK_OF(s, const struct zs_ipfix, sink)->st.lost_records;
}

static void sink_close(struct zs_sink *s)
{
	zs_ipfix_close(ZS_SINK_OF(s, struct zs_ipfix, sink));
}

static const struct zs_sink_ops ipfix_sink_ops = {
	.name = "ipfix",
	.emit = sink_emit,
	.tick = sink_tick,
	.lost = sink_lost,
	.close = sink_close,
};

struct zs_sink *zs_ipfix_sink(struct zs_ipfix *x)
{
	x->sink.ops = &ipfix_sink_ops;
	return &x->sink;
}

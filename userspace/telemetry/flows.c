// SPDX-License-Identifier: MIT
/* Flow records; see flows.h. */
#include "telemetry/flows.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <net/if.h>
#include <string.h>

static const char *const reason_names[ZS_REASON_MAX] = {
	[ZS_REASON_FORWARDED] = "forwarded",
	[ZS_DROP_DEFAULT_DENY] = "default-deny",
	[ZS_DROP_POLICY_DENY] = "policy-deny",
	[ZS_DROP_SPOOFED_SRC] = "spoofed-source",
	[ZS_DROP_TRUNCATED] = "truncated",
	[ZS_DROP_BAD_HEADER] = "bad-header",
	[ZS_DROP_UNKNOWN_EP] = "unknown-endpoint",
	[ZS_DROP_FRAGMENT] = "fragment",
	[ZS_DROP_UNSUPPORTED_L3] = "unsupported-l3",
	[ZS_DROP_IPV6_EXT] = "ipv6-extension",
	[ZS_DROP_NOT_READY] = "not-ready",
	[ZS_DROP_REVOKED] = "revoked",
	[ZS_DROP_ROUTER_ADV] = "router-advertisement",
	[ZS_DROP_CT_INSERT] = "conntrack-full",
	[ZS_DROP_ICMP_UNRELATED] = "icmp-unrelated",
	[ZS_DROP_TCP_FLAGS] = "tcp-flags",
	[ZS_DROP_SOURCE_ROUTE] = "source-route",
};

const char *zs_reason_name(unsigned reason)
{
	return reason < ZS_REASON_MAX && reason_names[reason] ? reason_names[reason] : "unknown";
}

const char *zs_verdict_name(unsigned verdict)
{
	switch (verdict) {
	case ZS_VERDICT_ALLOW: return "allowed";
	case ZS_VERDICT_AUDIT: return "audit";
	default: return "denied";
	}
}

const char *zs_proto_name(unsigned proto)
{
	switch (proto) {
	case 6: return "TCP";
	case 17: return "UDP";
	case 132: return "SCTP";
	case 1: return "ICMP";
	case 58: return "ICMPv6";
	default: return NULL;
	}
}

const char *zs_rec_type_name(unsigned type)
{
	static const char *const names[] = { "new", "update", "end", "revoked", "denied" };
	return type < ZS_ARRAY_SIZE(names) ? names[type] : "unknown";
}

static const char *end_reason_name(unsigned r)
{
	static const char *const names[] = { NULL, "idle", "active", "end-of-flow", "forced",
					     "evicted" };
	return r < ZS_ARRAY_SIZE(names) ? names[r] : NULL;
}

static void end_fill(struct zs_flow_end *e, uint8_t family, const uint8_t *addr, __be16 port,
		     uint8_t proto, uint32_t identity, const struct zs_compiled *c,
		     const struct zs_identities *ids)
{
	const struct zs_c_ipcache *w = zs_compiled_ipcache_find(c, family, addr);

	memcpy(e->addr, addr, 16);
	e->port = proto == 6 || proto == 17 || proto == 132 ? ntohs(port) : 0;
	e->identity = identity;
	e->workload = w ? w->workload : NULL;
	e->id = identity >= ZS_ID_FIRST_WORKLOAD ? zs_identity_find(ids, identity) : NULL;
}

static const char *policy_of(const struct zs_compiled *c, uint32_t rule_id, bool checked)
{
	if (!checked)
		return NULL;
	if (!rule_id)
		return "default-deny";
	const struct zs_c_rule *r = zs_compiled_rule(c, rule_id);
	return r ? r->policy : "unknown";
}

static void decision_fill(struct zs_flow_rec *r, uint8_t verdict, uint8_t checks, uint32_t eg_rule,
			  uint32_t in_rule, const struct zs_compiled *c)
{
	bool eg = checks & ZS_CHECKED_EGRESS, in = checks & ZS_CHECKED_INGRESS;
	bool side_egress = verdict == ZS_VERDICT_DENY ? (checks & ZS_DENIED_EGRESS) != 0 : !in;
	uint32_t rule = side_egress ? eg_rule : in_rule;

	r->egress = side_egress;
	r->policy = policy_of(c, rule, true);
	r->rule[0] = '\0';
	if (rule) {
		const struct zs_c_rule *cr = zs_compiled_rule(c, rule);
		if (cr) {
			/* "ingress[12]", without printf: this runs for every record. */
			const char *d = cr->dir ? "egress[" : "ingress[";
			size_t n = strlen(d), i = 0;
			char num[12];
			uint32_t v = cr->index;
			do {
				num[i++] = (char)('0' + v % 10);
				v /= 10;
			} while (v && i < sizeof(num));
			memcpy(r->rule, d, n);
			while (i && n < sizeof(r->rule) - 2)
				r->rule[n++] = num[--i];
			r->rule[n++] = ']';
			r->rule[n] = '\0';
		}
	}
	r->egress_policy = policy_of(c, eg_rule, eg);
	r->ingress_policy = policy_of(c, in_rule, in);
}

static void icmp_fill(struct zs_flow_rec *r, uint8_t proto, __be16 pol_port)
{
	if (proto == 1 || proto == 58) {
		r->icmp_type = (uint8_t)(ntohs(pol_port) >> 8);
		r->icmp_code = (uint8_t)ntohs(pol_port);
	}
}

/* Interface names by ifindex, cached: if_indextoname costs a socket per call. */
#define IFNAME_CACHE 256
static struct {
	uint32_t ifindex;
	char name[IF_NAMESIZE];
} ifname_cache[IFNAME_CACHE];

void zs_flow_ifnames_forget(void)
{
	memset(ifname_cache, 0, sizeof(ifname_cache));
}

static void ifname_of(uint32_t ifindex, char *out)
{
	unsigned slot = ifindex % IFNAME_CACHE;

	if (ifindex && ifname_cache[slot].ifindex == ifindex) {
		memcpy(out, ifname_cache[slot].name, IF_NAMESIZE);
		return;
	}
	if (!if_indextoname(ifindex, out)) {
		out[0] = '\0';
		return;
	}
	ifname_cache[slot].ifindex = ifindex;
	memcpy(ifname_cache[slot].name, out, IF_NAMESIZE);
}

void zs_flow_rec_from_event(struct zs_flow_rec *r, const struct zs_flow_event *ev,
			    uint64_t mono_to_real, const struct zs_compiled *c,
			    const struct zs_identities *ids)
{
	memset(r, 0, sizeof(*r));
	r->type = ev->type == ZS_EV_FLOW_REVOKED ? ZS_REC_REVOKED :
		  ev->type == ZS_EV_FLOW_DENIED	 ? ZS_REC_DENIED :
						   ZS_REC_NEW;
	r->verdict = ev->verdict;
	r->reason = ev->verdict == ZS_VERDICT_DENY ? ev->reason : 0;
	r->family = ev->family;
	r->proto = ev->proto;
	if (ev->proto == 1 || ev->proto == 58) {
		r->icmp_type = ev->tcp_flags;
		r->icmp_code = ev->icmp_code;
	} else {
		r->tcp_flags = ev->tcp_flags;
	}
	r->time_ns = ev->ts_ns + mono_to_real;
	r->start_ns = r->last_ns = r->time_ns;
	end_fill(&r->src, ev->family, ev->saddr, ev->sport, ev->proto, ev->src_identity, c, ids);
	end_fill(&r->dst, ev->family, ev->daddr, ev->dport, ev->proto, ev->dst_identity, c, ids);
	/* The event's packet: ICMP type/code ride in the port for echo, else in the type. */
	r->packets[0] = ev->type == ZS_EV_FLOW_DENIED ? ev->suppressed + 1 : 1;
	r->bytes[0] = ev->bytes;
	r->suppressed = ev->type == ZS_EV_FLOW_DENIED ? ev->suppressed : 0;
	r->ifindex = ev->ifindex;
	ifname_of(ev->ifindex, r->ifname);
	r->revision = ev->revision;
	decision_fill(r, ev->verdict, ev->checks, ev->egress_rule, ev->ingress_rule, c);
}

void zs_flow_rec_from_ct(struct zs_flow_rec *r, const struct zs_ct_key *k,
			 const struct zs_ct_entry *e, uint8_t type, uint8_t end_reason,
			 uint64_t mono_to_real, uint64_t now_real, const struct zs_compiled *c,
			 const struct zs_identities *ids)
{
	bool lo_init = e->flags & ZS_CT_INIT_IS_LO;
	const uint8_t *sa = lo_init ? k->addr_lo : k->addr_hi, *da = lo_init ? k->addr_hi : k->addr_lo;
	__be16 sp = lo_init ? k->port_lo : k->port_hi, dp = lo_init ? k->port_hi : k->port_lo;

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->end_reason = end_reason;
	r->verdict = e->verdict;
	r->reason = e->verdict == ZS_VERDICT_DENY ? e->reason : 0;
	r->family = k->family;
	r->proto = k->proto;
	r->tcp_flags = e->tcp_flags;
	r->time_ns = now_real;
	r->start_ns = e->created_ns + mono_to_real;
	r->last_ns = e->last_ns + mono_to_real;
	end_fill(&r->src, k->family, sa, sp, k->proto, e->src_identity, c, ids);
	end_fill(&r->dst, k->family, da, dp, k->proto, e->dst_identity, c, ids);
	icmp_fill(r, k->proto, e->policy_port);
	memcpy(r->packets, e->packets, sizeof(r->packets));
	memcpy(r->bytes, e->bytes, sizeof(r->bytes));
	r->revision = e->revision;
	decision_fill(r, e->verdict, e->checks, e->egress_rule, e->ingress_rule, c);
}

/* ---- JSON lines, written by hand: one record per line, no allocation ---- */

struct out {
	char *p, *end;
	bool full;
};

static void put_raw(struct out *o, const char *s, size_t n)
{
	if (o->full || (size_t)(o->end - o->p) <= n) {
		o->full = true;
		return;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

#define put_lit(o, s) put_raw(o, s, sizeof(s) - 1)

static void put_cstr(struct out *o, const char *s)
{
	put_raw(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
	char buf[24];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_raw(o, buf + i, sizeof(buf) - i);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_str(struct out *o, const char *s)
{
	if (!s) {
		put_lit(o, "null");
		return;
	}
	put_lit(o, "\"");
	for (const char *run = s;; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch && ch != '"' && ch != '\\' && ch >= 0x20)
			continue;
		put_raw(o, run, (size_t)(s - run));
		if (!ch)
			break;
		if (ch == '"' || ch == '\\') {
			char esc[2] = { '\\', (char)ch };
			put_raw(o, esc, 2);
		} else {
			static const char hex[] = "0123456789abcdef";
			char esc[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
			put_raw(o, esc, 6);
		}
		run = s + 1;
	}
	put_lit(o, "\"");
}

static void put_time(struct out *o, const char *key, uint64_t ns)
{
	char ts[64];
	zs_rfc3339(ns, ts, sizeof(ts));
	put_lit(o, ",\"");
	put_cstr(o, key);
	put_lit(o, "\":\"");
	put_cstr(o, ts);
	put_lit(o, "\"");
}

static void put_end(struct out *o, const char *key, const struct zs_flow_rec *r,
		    const struct zs_flow_end *e)
{
	char ip[64];

	put_lit(o, ",\"");
	put_cstr(o, key);
	put_lit(o, "\":{\"ip\":\"");
	put_cstr(o, zs_addr_str(r->family, e->addr, ip, sizeof(ip)));
	put_lit(o, "\"");
	if (r->proto == 6 || r->proto == 17 || r->proto == 132) {
		put_lit(o, ",\"port\":");
		put_u64(o, e->port);
	}
	put_lit(o, ",\"identity\":");
	put_u64(o, e->identity);
	if (e->workload) {
		put_lit(o, ",\"workload\":");
		put_str(o, e->workload);
	}
	if (e->id) {
		bool first = true;
		put_lit(o, ",\"namespace\":");
		put_str(o, e->id->ns);
		put_lit(o, ",\"labels\":{");
		for (size_t i = 0; i < e->id->labels.n; i++) {
			if (!strncmp(e->id->labels.v[i].key, "zeroseg.io/", 11))
				continue; /* identity internals (named ports), not the user's labels */
			if (!first)
				put_lit(o, ",");
			put_str(o, e->id->labels.v[i].key);
			put_lit(o, ":");
			put_str(o, e->id->labels.v[i].value);
			first = false;
		}
		put_lit(o, "}");
	} else if (e->identity == ZS_ID_WORLD || e->identity == ZS_ID_HOST) {
		put_lit(o, ",\"entity\":\"");
		put_cstr(o, e->identity == ZS_ID_HOST ? "host" : "world");
		put_lit(o, "\"");
	}
	put_lit(o, "}");
}

size_t zs_flow_rec_json(const struct zs_flow_rec *r, char *buf, size_t cap)
{
	struct out o = { .p = buf, .end = buf + cap };
	const char *proto = zs_proto_name(r->proto);
	char ts[64];

	zs_rfc3339(r->time_ns, ts, sizeof(ts));
	put_lit(&o, "{\"time\":\"");
	put_cstr(&o, ts);
	put_lit(&o, "\",\"type\":\"");
	put_cstr(&o, zs_rec_type_name(r->type));
	put_lit(&o, "\",\"verdict\":\"");
	put_cstr(&o, zs_verdict_name(r->verdict));
	put_lit(&o, "\"");
	if (r->verdict == ZS_VERDICT_DENY) {
		put_lit(&o, ",\"reason\":\"");
		put_cstr(&o, zs_reason_name(r->reason));
		put_lit(&o, "\"");
	}
	put_end(&o, "src", r, &r->src);
	put_end(&o, "dst", r, &r->dst);
	if (proto) {
		put_lit(&o, ",\"protocol\":\"");
		put_cstr(&o, proto);
		put_lit(&o, "\"");
	} else {
		put_lit(&o, ",\"protocol\":");
		put_u64(&o, r->proto);
	}
	if (r->proto == 1 || r->proto == 58) {
		put_lit(&o, ",\"icmp\":{\"type\":");
		put_u64(&o, r->icmp_type);
		put_lit(&o, ",\"code\":");
		put_u64(&o, r->icmp_code);
		put_lit(&o, "}");
	}
	put_lit(&o, ",\"direction\":\"");
	put_cstr(&o, r->egress ? "egress" : "ingress");
	put_lit(&o, "\",\"policy\":");
	put_str(&o, r->policy);
	if (r->rule[0]) {
		put_lit(&o, ",\"rule\":");
		put_str(&o, r->rule);
	}
	put_lit(&o, ",\"egress_policy\":");
	put_str(&o, r->egress_policy);
	put_lit(&o, ",\"ingress_policy\":");
	put_str(&o, r->ingress_policy);
	if (r->ifname[0]) {
		put_lit(&o, ",\"interface\":");
		put_str(&o, r->ifname);
	}
	put_lit(&o, ",\"revision\":");
	put_u64(&o, r->revision);
	if (r->type == ZS_REC_DENIED) {
		put_lit(&o, ",\"suppressed\":");
		put_u64(&o, r->suppressed);
	}
	if (r->type == ZS_REC_UPDATE || r->type == ZS_REC_END || r->type == ZS_REC_REVOKED) {
		put_time(&o, "start", r->start_ns);
		put_time(&o, "end", r->last_ns);
		put_lit(&o, ",\"packets\":[");
		put_u64(&o, r->packets[0]);
		put_lit(&o, ",");
		put_u64(&o, r->packets[1]);
		put_lit(&o, "],\"bytes\":[");
		put_u64(&o, r->bytes[0]);
		put_lit(&o, ",");
		put_u64(&o, r->bytes[1]);
		put_lit(&o, "]");
		if (r->proto == 6) {
			static const struct { uint8_t bit; char c; } fl[] = {
				{ 0x02, 'S' }, { 0x10, 'A' }, { 0x08, 'P' }, { 0x01, 'F' }, { 0x04, 'R' }, { 0x20, 'U' },
			};
			char f[8];
			size_t n = 0;
			for (size_t i = 0; i < ZS_ARRAY_SIZE(fl); i++)
				if (r->tcp_flags & fl[i].bit)
					f[n++] = fl[i].c;
			put_lit(&o, ",\"tcp_flags\":\"");
			put_raw(&o, f, n);
			put_lit(&o, "\"");
		}
	}
	if (end_reason_name(r->end_reason)) {
		put_lit(&o, ",\"end_reason\":\"");
		put_cstr(&o, end_reason_name(r->end_reason));
		put_lit(&o, "\"");
	}
	put_lit(&o, "}\n");
	if (o.full || o.p >= o.end)
		return 0;
	*o.p = '\0';
	return (size_t)(o.p - buf);
}

static void end_str(json_t *e, char *buf, size_t len)
{
	const char *wl = json_string_value(json_object_get(e, "workload"));
	const char *ent = json_string_value(json_object_get(e, "entity"));
	const char *ip = json_string_value(json_object_get(e, "ip"));
	json_t *port = json_object_get(e, "port");

	if (port)
		snprintf(buf, len, "%s(%s:%lld)", wl ? wl : ent ? ent : "?", ip ? ip : "?",
			 (long long)json_integer_value(port));
	else
		snprintf(buf, len, "%s(%s)", wl ? wl : ent ? ent : "?", ip ? ip : "?");
}

void zs_flow_print_compact(FILE *f, json_t *rec)
{
	char src[160], dst[160];
	json_t *proto = json_object_get(rec, "protocol");
	const char *reason = json_string_value(json_object_get(rec, "reason"));
	const char *policy = json_string_value(json_object_get(rec, "policy"));

	if (!json_object_get(rec, "src")) {
		/* Not a flow (a `lost` record or similar): print it as it is. */
		char *s = json_dumps(rec, JSON_COMPACT);
		fprintf(f, "%s\n", s);
		free(s);
		return;
	}
	end_str(json_object_get(rec, "src"), src, sizeof(src));
	end_str(json_object_get(rec, "dst"), dst, sizeof(dst));
	fprintf(f, "%s %-8s %s -> %s %s %s%s%s%s\n",
		json_string_value(json_object_get(rec, "time")) ?: "?",
		json_string_value(json_object_get(rec, "verdict")) ?: "?", src, dst,
		json_is_string(proto) ? json_string_value(proto) : "proto",
		policy ? policy : "", reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
}

// SPDX-License-Identifier: MIT
/* Flow records; see flows.h. */
#include "flows.h"

#include <arpa/inet.h>
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

static const struct zs_c_ipcache *who(const struct zs_compiled *c, uint8_t family, const uint8_t *addr)
{
	const struct zs_c_ipcache *best = NULL;
	struct zs_prefix host = { .family = family, .len = family == ZS_AF_INET ? 32 : 128 };

	memcpy(host.addr, addr, 16);
	for (size_t i = 0; i < c->ipcache.n; i++)
		if (zs_prefix_contains(&c->ipcache.v[i].prefix, &host) &&
		    (!best || c->ipcache.v[i].prefix.len > best->prefix.len))
			best = &c->ipcache.v[i];
	return best;
}

static json_t *end_json(const struct zs_flow_event *ev, const uint8_t *addr, __be16 port,
			uint32_t identity, const struct zs_compiled *c, const struct zs_identities *ids)
{
	json_t *o = json_object();
	char buf[64];
	const struct zs_c_ipcache *w = who(c, ev->family, addr);

	json_object_set_new(o, "ip", json_string(zs_addr_str(ev->family, addr, buf, sizeof(buf))));
	if (ev->proto == 6 || ev->proto == 17 || ev->proto == 132)
		json_object_set_new(o, "port", json_integer(ntohs(port)));
	json_object_set_new(o, "identity", json_integer(identity));
	if (w)
		json_object_set_new(o, "workload", json_string(w->workload));
	const struct zs_identity *id = zs_identity_find(ids, identity);
	if (id) {
		json_object_set_new(o, "namespace", json_string(id->ns));
		json_t *l = json_object();
		for (size_t i = 0; i < id->labels.n; i++)
			json_object_set_new(l, id->labels.v[i].key, json_string(id->labels.v[i].value));
		json_object_set_new(o, "labels", l);
	} else if (identity == ZS_ID_WORLD) {
		json_object_set_new(o, "entity", json_string("world"));
	} else if (identity == ZS_ID_HOST) {
		json_object_set_new(o, "entity", json_string("host"));
	}
	return o;
}

static json_t *rule_name(const struct zs_compiled *c, uint32_t rule_id, bool checked)
{
	if (!checked)
		return json_null();
	if (!rule_id)
		return json_string("default-deny");
	const struct zs_c_rule *r = zs_compiled_rule(c, rule_id);
	if (!r)
		return json_sprintf("rule-%u", rule_id);
	return json_string(r->policy);
}

json_t *zs_flow_record(const struct zs_flow_event *ev, uint64_t realtime_ns,
		       const struct zs_compiled *c, const struct zs_identities *ids)
{
	json_t *o = json_object();
	char ts[64], ifname[IF_NAMESIZE] = "";
	bool eg = ev->checks & ZS_CHECKED_EGRESS, in = ev->checks & ZS_CHECKED_INGRESS;
	bool denied = ev->verdict == ZS_VERDICT_DENY;
	/* The deciding side: the one that denied, else the destination's. */
	bool side_egress = denied ? (ev->checks & ZS_DENIED_EGRESS) != 0 : !in;
	uint32_t rule = side_egress ? ev->egress_rule : ev->ingress_rule;
	const char *proto = zs_proto_name(ev->proto);

	zs_rfc3339(realtime_ns, ts, sizeof(ts));
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "type", json_string(ev->type == ZS_EV_FLOW_REVOKED ? "revoked" : "new"));
	json_object_set_new(o, "verdict", json_string(zs_verdict_name(ev->verdict)));
	if (denied)
		json_object_set_new(o, "reason", json_string(zs_reason_name(ev->reason)));
	json_object_set_new(o, "src", end_json(ev, ev->saddr, ev->sport, ev->src_identity, c, ids));
	json_object_set_new(o, "dst", end_json(ev, ev->daddr, ev->dport, ev->dst_identity, c, ids));
	if (proto)
		json_object_set_new(o, "protocol", json_string(proto));
	else
		json_object_set_new(o, "protocol", json_integer(ev->proto));
	json_object_set_new(o, "direction", json_string(side_egress ? "egress" : "ingress"));
	json_object_set_new(o, "policy", rule_name(c, rule, true));
	if (rule) {
		const struct zs_c_rule *r = zs_compiled_rule(c, rule);
		if (r)
			json_object_set_new(o, "rule", json_sprintf("%s[%u]", r->dir ? "egress" : "ingress", r->index));
	}
	json_object_set_new(o, "egress_policy", rule_name(c, ev->egress_rule, eg));
	json_object_set_new(o, "ingress_policy", rule_name(c, ev->ingress_rule, in));
	if (if_indextoname(ev->ifindex, ifname))
		json_object_set_new(o, "interface", json_string(ifname));
	json_object_set_new(o, "revision", json_integer(ev->revision));
	return o;
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

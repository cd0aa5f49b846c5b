/* SPDX-License-Identifier: MIT */
/*
 * The reference evaluator: decides one flow by reading the policy objects
 * directly, the way the documentation states the semantics, with no
 * identities, no atoms, no prefixes. Slow and obviously correct; the
 * differential test holds the compiler to it.
 *
 *   - an address belongs to the workload with the longest prefix holding it,
 *     else to the host (its own addresses), else to the world;
 *   - a side is checked when its workload is local (has an interface);
 *   - a rule matches when one of its peers and one of its ports match; a
 *     cidr peer holds the addresses in its cidr and no except, an addressSet
 *     peer those that any member of the set holds;
 *     named ports resolve on the flow's destination workload;
 *   - among matching rules the highest precedence wins: deny, then an audit
 *     policy's deny, then allow, then the posture default; nothing = deny;
 *   - both checked sides must let the flow through.
 */
#ifndef ZS_TEST_REFERENCE_H
#define ZS_TEST_REFERENCE_H

#include <string.h>

#include "bpf/abi.h"
#include "policy/identity.h"
#include "policy/model.h"

struct ref_who {
	const struct zs_workload *w; /* NULL: host or world */
	bool host;
};

struct ref_side {
	bool checked;
	uint8_t prec;    /* enum zs_prec of the winner, NONE = default deny */
	uint8_t verdict; /* enum zs_verdict */
	/* The winning rules (all of the winning precedence). */
	size_t nwin;
	struct {
		const struct zs_policy *p;
		uint8_t dir;
		size_t index;
	} win[64];
};

struct ref_decision {
	struct ref_who src, dst;
	struct ref_side egress, ingress;
	uint8_t verdict;
};

static struct ref_who ref_who(const struct zs_objects *o, const struct zs_prefix *a)
{
	struct ref_who r = { 0 };
	int best = -1;

	for (size_t i = 0; i < o->workloads.n; i++)
		for (size_t j = 0; j < o->workloads.v[i].naddrs; j++) {
			const struct zs_prefix *p = &o->workloads.v[i].addrs[j];
			if (zs_prefix_contains(p, a) && p->len > best) {
				best = p->len;
				r.w = &o->workloads.v[i];
			}
		}
	if (r.w)
		return r;
	for (size_t i = 0; i < o->host_addrs.n; i++)
		r.host |= zs_prefix_contains(&o->host_addrs.v[i], a);
	return r;
}

static bool ref_peer_matches(const struct zs_objects *o, const struct zs_policy *p,
			     const struct zs_peer *peer, const struct ref_who *who,
			     const struct zs_prefix *addr)
{
	switch (peer->entity) {
	case ZS_ENTITY_ALL:
		return true;
	case ZS_ENTITY_HOST:
		return !who->w && who->host;
	case ZS_ENTITY_WORLD:
		return !who->w && !who->host;
	case ZS_ENTITY_NONE:
		break;
	}
	if (peer->has_cidr) {
		if (!zs_prefix_contains(&peer->cidr, addr))
			return false;
		for (size_t i = 0; i < peer->nexcept; i++)
			if (zs_prefix_contains(&peer->except[i], addr))
				return false;
		return true;
	}
	if (peer->set) { /* any member holding the address; no such set: nothing */
		const struct zs_addrset *set = zs_objects_set(o, peer->set);
		for (size_t i = 0; set && i < set->n; i++)
			if (zs_prefix_contains(&set->members[i], addr))
				return true;
		return false;
	}
	if (!who->w)
		return false;
	if (peer->has_ns_selector) {
		zs_labels_t nsl = { 0 };
		zs_namespace_labels(o, who->w->ns, &nsl);
		bool ok = zs_selector_matches(&peer->ns_selector, &nsl);
		zs_labels_free(&nsl);
		if (!ok)
			return false;
	} else if (strcmp(who->w->ns, p->ns)) {
		return false;
	}
	return !peer->has_selector || zs_selector_matches(&peer->selector, &who->w->labels);
}

static bool ref_port_matches(const struct zs_port *pt, const struct zs_workload *dst,
			     uint8_t proto, uint16_t port)
{
	if (pt->name) {
		for (size_t i = 0; dst && i < dst->nports; i++)
			if (!strcmp(dst->ports[i].name, pt->name) && dst->ports[i].proto == proto &&
			    dst->ports[i].port == port)
				return true;
		return false;
	}
	if (pt->proto == 0)
		return true;
	if (pt->proto != proto)
		return false;
	if (pt->any_port)
		return true;
	if (proto == 1 || proto == 58)
		return (port >> 8) == pt->port && (pt->icmp_code < 0 || (port & 0xff) == pt->icmp_code);
	return port >= pt->port && port <= pt->end;
}

static void ref_offer(struct ref_side *s, uint8_t prec, uint8_t verdict, const struct zs_policy *p,
		      uint8_t dir, size_t index)
{
	if (prec < s->prec)
		return;
	if (prec > s->prec) {
		s->prec = prec;
		s->verdict = verdict;
		s->nwin = 0;
	}
	if (p && s->nwin < 64) {
		s->win[s->nwin].p = p;
		s->win[s->nwin].dir = dir;
		s->win[s->nwin].index = index;
		s->nwin++;
	}
}

static void ref_side(const struct zs_objects *o, struct ref_side *s, const struct zs_workload *subj,
		     uint8_t dir, const struct ref_who *peer, const struct zs_prefix *peer_addr,
		     const struct zs_workload *dst, uint8_t proto, uint16_t port)
{
	bool isolated = false, audit = false, enforced = false;

	memset(s, 0, sizeof(*s));
	s->checked = true;
	for (size_t i = 0; i < o->policies.n; i++) {
		const struct zs_policy *p = &o->policies.v[i];
		if (strcmp(p->ns, subj->ns) || !zs_selector_matches(&p->selector, &subj->labels))
			continue;
		if (dir == ZS_DIR_INGRESS ? p->has_ingress : p->has_egress) {
			isolated = true;
			audit |= p->mode == ZS_MODE_AUDIT;
			enforced |= p->mode == ZS_MODE_ENFORCE;
		}
		size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
		const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
		for (size_t r = 0; r < nr; r++) {
			const struct zs_rule *rule = &rules[r];
			bool peer_ok = rule->all_peers, port_ok = rule->all_ports;
			for (size_t k = 0; !peer_ok && k < rule->npeers; k++)
				peer_ok = ref_peer_matches(o, p, &rule->peers[k], peer, peer_addr);
			for (size_t k = 0; !port_ok && k < rule->nports; k++)
				port_ok = ref_port_matches(&rule->ports[k], dst, proto, port);
			if (!peer_ok || !port_ok)
				continue;
			if (rule->action == ZS_ACTION_ALLOW)
				ref_offer(s, ZS_PREC_ALLOW, ZS_VERDICT_ALLOW, p, dir, r);
			else if (p->mode == ZS_MODE_AUDIT)
				ref_offer(s, ZS_PREC_AUDIT, ZS_VERDICT_AUDIT, p, dir, r);
			else
				ref_offer(s, ZS_PREC_DENY, ZS_VERDICT_DENY, p, dir, r);
		}
	}
	if (!isolated && o->posture == ZS_POSTURE_KUBERNETES)
		ref_offer(s, ZS_PREC_DEFAULT, ZS_VERDICT_ALLOW, NULL, dir, 0);
	else if (audit && !enforced)
		ref_offer(s, ZS_PREC_DEFAULT, ZS_VERDICT_AUDIT, NULL, dir, 0);
}

/* port: destination port, or ICMP type << 8 | code. */
static void ref_decide(const struct zs_objects *o, const struct zs_prefix *src,
		       const struct zs_prefix *dst, uint8_t proto, uint16_t port,
		       struct ref_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->src = ref_who(o, src);
	d->dst = ref_who(o, dst);
	d->verdict = ZS_VERDICT_ALLOW;
	if (d->src.w && d->src.w->ifname)
		ref_side(o, &d->egress, d->src.w, ZS_DIR_EGRESS, &d->dst, dst, d->dst.w, proto, port);
	if (d->dst.w && d->dst.w->ifname)
		ref_side(o, &d->ingress, d->dst.w, ZS_DIR_INGRESS, &d->src, src, d->dst.w, proto, port);
	for (int i = 0; i < 2; i++) {
		const struct ref_side *s = i ? &d->ingress : &d->egress;
		if (!s->checked)
			continue;
		if (s->verdict == ZS_VERDICT_DENY || s->verdict == ZS_VERDICT_NONE)
			d->verdict = ZS_VERDICT_DENY;
		else if (s->verdict == ZS_VERDICT_AUDIT && d->verdict == ZS_VERDICT_ALLOW)
			d->verdict = ZS_VERDICT_AUDIT;
	}
}

#endif /* ZS_TEST_REFERENCE_H */

// SPDX-License-Identifier: MIT
/*
 * The read side of a compiled policy: rules and subjects by number, the
 * ipcache's answer for an address, and the datapath's lookups and verdict on
 * a new flow (bpf/lib/policy.h, bpf/lib/decide.h) emulated over the compiled
 * entries. Explain, flow records and the tests ask it what the kernel would do.
 */
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_int.h"

static int cmp_c_ipcache(const void *a, const void *b)
{
	return zs_prefix_cmp(&((const struct zs_c_ipcache *)a)->prefix,
			     &((const struct zs_c_ipcache *)b)->prefix);
}

const struct zs_c_rule *zs_compiled_rule(const struct zs_compiled *c, uint32_t id)
{
	struct zs_c_rule key = { .id = id };

	return zs_bsearch(&key, c->rules.v, c->rules.n, sizeof(key), cmp_rule);
}

static int cmp_subject(const void *a, const void *b)
{
	uint32_t x = ((const struct zs_subject *)a)->identity;
	uint32_t y = ((const struct zs_subject *)b)->identity;
	return x < y ? -1 : x > y;
}

const struct zs_subject *zs_compiled_subject(const struct zs_compiled *c, uint32_t identity)
{
	struct zs_subject key = { .identity = identity };
	return zs_bsearch(&key, c->subjects.v, c->subjects.n, sizeof(key), cmp_subject);
}

/* A subject's longest matching entry for (peer, dir, value), as the LPM trie answers. */
static const struct zs_pentry *lpm(const struct zs_subject *s, uint32_t peer, uint8_t dir,
				   uint32_t value)
{
	const struct zs_pentry *best = NULL;

	for (size_t i = 0; i < s->n; i++) {
		const struct zs_pentry *e = &s->e[i];
		uint32_t mask = e->bits ? (SPACE_MAX << (24 - e->bits)) & SPACE_MAX : 0;
		if (e->dir != dir || e->peer != peer || (value & mask) != e->value)
			continue;
		if (!best || e->bits > best->bits)
			best = e;
	}
	return best;
}

const struct zs_pentry *zs_compiled_lookup(const struct zs_compiled *c, uint32_t subject,
					   uint32_t peer, uint32_t peer_cidr, uint8_t dir,
					   uint8_t proto, uint16_t port)
{
	const struct zs_subject *s = zs_compiled_subject(c, subject);
	uint32_t value = (uint32_t)proto << 16 | port;
	const struct zs_pentry *a, *b = NULL;

	if (!s)
		return NULL;
	a = lpm(s, peer, dir, value);
	if (peer_cidr && peer_cidr != peer)
		b = lpm(s, peer_cidr, dir, value);
	if (!a && !b)
		a = lpm(s, ZS_ID_ANY, dir, value);
	if (!a || (b && (b->prec > a->prec || (b->prec == a->prec && b->rule_id < a->rule_id))))
		return b;
	return a;
}

const struct zs_c_ipcache *zs_compiled_ipcache_exact(const struct zs_compiled *c,
						    const struct zs_prefix *p)
{
	struct zs_c_ipcache key = { .prefix = *p };

	return zs_bsearch(&key, c->ipcache.v, c->ipcache.n, sizeof(key), cmp_c_ipcache);
}

const struct zs_c_ipcache *zs_compiled_ipcache_find(const struct zs_compiled *c, uint8_t family,
						   const uint8_t addr[16])
{
	struct zs_prefix q = { .family = family, .len = family == 4 ? 32 : 128 };
	const uint8_t *lens = family == 4 ? c->lens4 : c->lens6;
	size_t nlens = family == 4 ? c->nlens4 : c->nlens6;

	memcpy(q.addr, addr, 16);
	/* Only the lengths the ipcache holds, longest first: the first hit is the answer. */
	for (size_t l = 0; l < nlens; l++) {
		zs_prefix_truncate(&q, lens[l]);
		const struct zs_c_ipcache *e = zs_compiled_ipcache_exact(c, &q);
		if (e)
			return e;
	}
	return NULL;
}

void zs_compiled_peer(const struct zs_compiled *c, const struct zs_prefix *addr,
		      struct zs_c_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->identity = ZS_ID_WORLD;
	out->entry = zs_compiled_ipcache_find(c, addr->family, addr->addr);
	if (out->entry) {
		out->identity = out->entry->identity;
		out->cidr = out->entry->cidr;
		out->local = out->entry->ifname != NULL;
	}
}

static void check_side(const struct zs_compiled *c, struct zs_c_check *chk, uint32_t subject,
		       const struct zs_c_peer *peer, uint8_t dir, uint8_t proto, uint16_t port)
{
	const struct zs_pentry *e =
		zs_compiled_lookup(c, subject, peer->identity, peer->cidr, dir, proto, port);

	chk->checked = true;
	chk->verdict = e ? e->verdict : ZS_VERDICT_NONE;
	chk->rule_id = e ? e->rule_id : 0;
}

void zs_compiled_decide(const struct zs_compiled *c, const struct zs_prefix *src,
			const struct zs_prefix *dst, uint8_t proto, uint16_t port,
			struct zs_c_decision *out)
{
	memset(out, 0, sizeof(*out));
	zs_compiled_peer(c, src, &out->src);
	zs_compiled_peer(c, dst, &out->dst);
	out->verdict = ZS_VERDICT_ALLOW;
	if (out->src.local)
		check_side(c, &out->egress, out->src.identity, &out->dst, ZS_DIR_EGRESS, proto, port);
	if (out->dst.local)
		check_side(c, &out->ingress, out->dst.identity, &out->src, ZS_DIR_INGRESS, proto, port);
	/* As bpf/lib/decide.h folds: deny or no rule on either side denies; audit marks. */
	for (int i = 0; i < 2; i++) {
		const struct zs_c_check *k = i ? &out->ingress : &out->egress;
		if (!k->checked)
			continue;
		if (k->verdict == ZS_VERDICT_DENY || k->verdict == ZS_VERDICT_NONE)
			out->verdict = ZS_VERDICT_DENY;
		else if (k->verdict == ZS_VERDICT_AUDIT && out->verdict == ZS_VERDICT_ALLOW)
			out->verdict = ZS_VERDICT_AUDIT;
	}
}

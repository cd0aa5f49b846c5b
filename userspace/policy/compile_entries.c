// SPDX-License-Identifier: MIT
/*
 * The compiler's last step: atoms -> entries. For one subject and direction,
 * the atoms (peer, [lo, hi] over proto << 16 | port, precedence, verdict,
 * rule) of a specific peer are merged with the any-peer atoms (so the
 * datapath's first lookup, when it hits, is final), cut into elementary
 * intervals where the highest precedence wins (deny > audit > allow >
 * posture default; ties: the lower rule id), and each interval is emitted
 * as aligned prefixes.
 */
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_int.h"

int zs_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int zs_cmp_pentry(const void *a, const void *b)
{
	const struct zs_pentry *x = a, *y = b;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return (int)x->bits - (int)y->bits;
}

void zs_push_atom(atoms_t *a, uint32_t peer, uint32_t lo, uint32_t hi, uint8_t prec,
		  uint8_t verdict, uint32_t rule_id)
{
	if (lo > hi)
		return;
	struct atom *x = ZS_VEC_PUSH(a);
	x->peer = peer;
	x->lo = lo;
	x->hi = hi;
	x->prec = prec;
	x->verdict = verdict;
	x->rule_id = rule_id;
}

static void emit_prefixes(struct zs_subject *s, size_t *cap, uint8_t dir, uint32_t peer, uint32_t lo,
			  uint32_t hi, uint8_t prec, uint8_t verdict, uint32_t rule_id)
{
	uint64_t cur = lo;

	while (cur <= hi) {
		unsigned bits = 24;
		/* Widen while aligned and still inside [cur, hi]. */
		while (bits > 0) {
			uint64_t size = 1ull << (24 - bits + 1);
			if (cur % size || cur + size - 1 > hi)
				break;
			bits--;
		}
		if (s->n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			s->e = zs_xrealloc(s->e, *cap, sizeof(*s->e));
		}
		struct zs_pentry *e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
		e->peer = peer;
		e->value = (uint32_t)cur;
		e->bits = (uint8_t)bits;
		e->dir = dir;
		e->verdict = verdict;
		e->prec = prec;
		e->rule_id = rule_id;
		cur += 1ull << (24 - bits);
	}
}

/*
 * Resolves the atoms of one (subject, dir, peer group) into entries for `peer`.
 * `atoms` are the ones that apply (the peer's own and the any-peer ones).
 */
static void resolve(struct zs_subject *s, size_t *cap, uint8_t dir, uint32_t peer,
		    const struct atom *const *atoms, size_t n)
{
	uint32_t *pts = zs_xcalloc(n * 2, sizeof(*pts));
	size_t np = 0;

	for (size_t i = 0; i < n; i++) {
		pts[np++] = atoms[i]->lo;
		if (atoms[i]->hi < SPACE_MAX)
			pts[np++] = atoms[i]->hi + 1;
	}
	zs_qsort(pts, np, sizeof(*pts), zs_cmp_u32);

	uint32_t run_lo = 0, run_rule = 0;
	uint8_t run_verdict = 0, run_prec = 0;
	bool in_run = false;
	for (size_t i = 0; i < np; i++) {
		if (i && pts[i] == pts[i - 1])
			continue;
		uint32_t seg_lo = pts[i];
		const struct atom *best = NULL;
		for (size_t j = 0; j < n; j++) {
			const struct atom *a = atoms[j];
			if (a->lo > seg_lo || a->hi < seg_lo)
				continue;
			if (!best || a->prec > best->prec ||
			    (a->prec == best->prec && a->rule_id < best->rule_id))
				best = a;
		}
		/* Close the running interval when the winner changes. */
		if (in_run && (!best || best->verdict != run_verdict || best->rule_id != run_rule ||
			       best->prec != run_prec)) {
			emit_prefixes(s, cap, dir, peer, run_lo, seg_lo - 1, run_prec, run_verdict,
				      run_rule);
			in_run = false;
		}
		if (best && !in_run) {
			in_run = true;
			run_lo = seg_lo;
			run_verdict = best->verdict;
			run_prec = best->prec;
			run_rule = best->rule_id;
		}
	}
	if (in_run)
		emit_prefixes(s, cap, dir, peer, run_lo, SPACE_MAX, run_prec, run_verdict, run_rule);
	free(pts);
}

static int cmp_atom_peer(const void *a, const void *b)
{
	const struct atom *x = a, *y = b;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->rule_id < y->rule_id ? -1 : x->rule_id > y->rule_id;
}

void zs_resolve_dir(struct zs_subject *s, size_t *cap, uint8_t dir, atoms_t *a)
{
	const struct atom **set;
	size_t nany = 0;

	if (!a->n)
		return;
	zs_qsort(a->v, a->n, sizeof(*a->v), cmp_atom_peer);
	while (nany < a->n && a->v[nany].peer == ZS_ID_ANY)
		nany++;
	set = zs_xcalloc(a->n, sizeof(*set));
	for (size_t i = 0; i < nany; i++)
		set[i] = &a->v[i];
	if (nany)
		resolve(s, cap, dir, ZS_ID_ANY, set, nany);
	for (size_t i = nany; i < a->n;) {
		size_t j = i, n = nany;
		while (j < a->n && a->v[j].peer == a->v[i].peer)
			set[n++] = &a->v[j++];
		resolve(s, cap, dir, a->v[i].peer, set, n);
		i = j;
	}
	free(set);
}

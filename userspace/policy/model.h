/* SPDX-License-Identifier: MIT */
/*
 * The object model: what users write (Workload, Policy, Namespace, Config,
 * AddressSet), after validation. Every object and rule keeps where it came from
 * (file:line:col) so errors and `explain` can point at it.
 */
#ifndef ZS_MODEL_H
#define ZS_MODEL_H

#include "util/util.h"

struct zs_mark {
	const char *file; /* owned by the zs_objects' file list */
	int line;         /* 1-based */
	int col;          /* 1-based */
};

struct zs_label {
	char *key;
	char *value;
};
/* Sorted by key, keys unique. */
typedef ZS_VEC(struct zs_label) zs_labels_t;

enum zs_sel_op {
	ZS_SEL_IN,
	ZS_SEL_NOT_IN,
	ZS_SEL_EXISTS,
	ZS_SEL_DOES_NOT_EXIST,
};

struct zs_requirement {
	char *key;
	enum zs_sel_op op;
	size_t nvalues;
	char **values;
};

/* A Kubernetes LabelSelector: all requirements must hold; none selects all. */
struct zs_selector {
	size_t n;
	struct zs_requirement *req;
};

enum zs_entity {
	ZS_ENTITY_NONE = 0,
	ZS_ENTITY_HOST,
	ZS_ENTITY_WORLD,
	ZS_ENTITY_ALL,
};

struct zs_peer {
	bool has_selector;
	bool has_ns_selector;
	struct zs_selector selector;
	struct zs_selector ns_selector;
	bool has_cidr;
	struct zs_prefix cidr;
	size_t nexcept;
	struct zs_prefix *except;
	enum zs_entity entity;
	char *set; /* addressSet: the name of an AddressSet, or NULL */
	struct zs_mark mark;
};

/* proto 0 means any protocol. */
struct zs_port {
	uint8_t proto;
	bool any_port;  /* no port given */
	uint16_t port;  /* first port, or ICMP type */
	uint16_t end;   /* last port (== port for a single one) */
	int icmp_code;  /* -1 = any */
	char *name;     /* named port, resolved on the destination workload */
	struct zs_mark mark;
};

enum zs_action {
	ZS_ACTION_ALLOW = 0,
	ZS_ACTION_DENY = 1,
};

struct zs_rule {
	bool all_peers; /* no from/to: any peer */
	size_t npeers;
	struct zs_peer *peers;
	bool all_ports;
	size_t nports;
	struct zs_port *ports;
	enum zs_action action;
	struct zs_mark mark;
};

enum zs_policy_mode {
	ZS_MODE_ENFORCE = 0,
	ZS_MODE_AUDIT = 1,
};

struct zs_policy {
	char *name;
	char *ns;
	struct zs_selector selector;
	bool has_ingress; /* this policy isolates its subjects for ingress */
	bool has_egress;
	size_t ningress;
	struct zs_rule *ingress;
	size_t negress;
	struct zs_rule *egress;
	enum zs_policy_mode mode;
	bool from_k8s; /* networking.k8s.io/v1 NetworkPolicy */
	struct zs_mark mark;
	char *json; /* its compact JSON as the state file holds it; NULL until
		     * then (objects are replaced, never changed in place) */
};

struct zs_named_port {
	char *name;
	uint8_t proto;
	uint16_t port;
};

struct zs_workload {
	char *name;
	char *ns;
	zs_labels_t labels;
	char *ifname; /* host-side interface; NULL for a remote workload */
	bool shield;  /* XDP flood shield on the interface (opt-in) */
	size_t naddrs;
	struct zs_prefix *addrs;
	size_t nports;
	struct zs_named_port *ports;
	struct zs_mark mark;
	char *json; /* its compact JSON as the state file holds it; NULL until
		     * then (objects are replaced, never changed in place) */
};

struct zs_namespace {
	char *name;
	zs_labels_t labels;
	struct zs_mark mark;
	char *json; /* its compact JSON as the state file holds it; NULL until
		     * then (objects are replaced, never changed in place) */
};

/*
 * An AddressSet: many prefixes under one name, referenced by policy peers
 * (`addressSet: NAME`). Global, not namespaced: addresses are (docs/DESIGN-NOTES.md,
 * "CIDR identities").
 */
struct zs_addrset {
	char *name;
	size_t n;
	struct zs_prefix *members; /* sorted (zs_prefix_cmp), unique */
	struct zs_mark mark;
	char *json; /* its compact JSON as the state file holds it; NULL until
		     * then (objects are replaced, never changed in place) */
};

enum zs_posture {
	ZS_POSTURE_DENY = 0,
	ZS_POSTURE_KUBERNETES = 1,
};

/* Object kinds, as they appear in `kind:` and on the command line. */
enum zs_kind {
	ZS_KIND_WORKLOAD,
	ZS_KIND_POLICY,
	ZS_KIND_NETWORKPOLICY,
	ZS_KIND_NAMESPACE,
	ZS_KIND_CONFIG,
	ZS_KIND_ADDRESSSET,
};

/* A set of objects: a parsed batch of files, or the daemon's whole state. */
struct zs_objects {
	ZS_VEC(struct zs_workload) workloads;
	ZS_VEC(struct zs_policy) policies;
	ZS_VEC(struct zs_namespace) namespaces;
	ZS_VEC(struct zs_addrset) sets;
	bool has_config;
	enum zs_posture posture;
	ZS_VEC(char *) files; /* names for marks */
	/* Not user objects: this host's own addresses (identity host), filled in
	 * by the daemon before a compile. Never merged or persisted. */
	ZS_VEC(struct zs_prefix) host_addrs;
};

/* A reference to one object by kind/namespace/name (for delete). */
struct zs_ref {
	enum zs_kind kind;
	char *ns;
	char *name;
};

void zs_objects_init(struct zs_objects *o);
void zs_objects_free(struct zs_objects *o);
const char *zs_objects_file(struct zs_objects *o, const char *name);

void zs_workload_free(struct zs_workload *w);
void zs_policy_free(struct zs_policy *p);
void zs_namespace_free(struct zs_namespace *n);
void zs_addrset_free(struct zs_addrset *s);
/* Sorts and de-duplicates s->members. */
void zs_addrset_normalize(struct zs_addrset *s);
/* The set named `name`, or NULL. */
const struct zs_addrset *zs_objects_set(const struct zs_objects *o, const char *name);
void zs_labels_free(zs_labels_t *l);
void zs_labels_set(zs_labels_t *l, const char *key, const char *value);
const char *zs_labels_get(const zs_labels_t *l, const char *key);
/* The same keys with the same values (both sorted by key). */
bool zs_labels_equal(const zs_labels_t *a, const zs_labels_t *b);

/* A deep copy (marks re-pointed into dst's own file list). */
void zs_objects_copy(const struct zs_objects *src, struct zs_objects *dst);
/* Moves (steals) the objects of `from` into `into`, replacing same-named ones. */
void zs_objects_merge(struct zs_objects *into, struct zs_objects *from);
/* Removes the named object; returns 0, or -ENOENT if there was none. */
int zs_objects_remove(struct zs_objects *o, const struct zs_ref *ref);

const char *zs_kind_name(enum zs_kind k);
int zs_kind_parse(const char *s, enum zs_kind *out);

#endif /* ZS_MODEL_H */

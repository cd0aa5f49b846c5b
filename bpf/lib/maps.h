/* SPDX-License-Identifier: MIT */
/*
 * Every map of the datapath, pinned by name under the controller's bpffs
 * directory so enforcement (and its state) outlives the daemon. Layouts are
 * in ../abi.h; the controller opens the same pins.
 */
#ifndef ZS_MAPS_H
#define ZS_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZS_MAX_ENDPOINTS);
	__type(key, __u32); /* ifindex */
	__type(value, struct zs_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ZS_MAX_IPCACHE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct zs_ipcache_key);
	__type(value, struct zs_ipcache_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZS_MAX_HANDLES);
	__type(key, struct zs_handle_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_handles SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ZS_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct zs_policy_key);
	__type(value, struct zs_policy_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zs_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_config SEC(".maps");

/* Conntrack: IPv6 flows here, IPv4 flows in zs_ct4 (a key of 16 bytes, not 40). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ZS_MAX_CT);
	__type(key, struct zs_ct_key);
	__type(value, struct zs_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ZS_MAX_CT);
	__type(key, struct zs_ct4_key);
	__type(value, struct zs_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_ct4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ZS_MAX_FRAGS);
	__type(key, struct zs_frag_key);
	__type(value, struct zs_frag_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, ZS_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZS_REASON_MAX);
	__type(key, __u32);
	__type(value, struct zs_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_stats SEC(".maps");

/* Where a new conntrack entry is built (per CPU): the 512-byte stack is full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zs_ct_entry);
} zs_ct_scratch SEC(".maps");

/*
 * Packets inside a program's full path, per CPU: the count goes odd on the
 * way in and even on the way out. The writer waits on it before it touches
 * the generation a flip just retired (userspace/datapath.c, dp_quiesce):
 * microseconds, where an RCU grace period takes tens of milliseconds. The
 * fast path reads no generation and does not count itself.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zs_inflight SEC(".maps");

/*
 * In before the revision is read: the atomic add is a full barrier on x86
 * (lock add), so the writer either sees us inside or we see its new
 * revision. (Other architectures: the writer takes an RCU grace period.)
 */
static __always_inline __u64 *zs_inflight_enter(void)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&zs_inflight, &zero);

	if (seq)
		__sync_fetch_and_add(seq, 1);
	return seq;
}

/* Out after the last read of a generation. */
static __always_inline void zs_inflight_exit(__u64 *seq)
{
	if (seq)
		__sync_fetch_and_add(seq, 1);
}

static __always_inline void zs_count_reason(__u32 reason, __u32 bytes)
{
	struct zs_counter *c = bpf_map_lookup_elem(&zs_reasons, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void zs_count_stat(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&zs_stats, &stat);

	if (v)
		(*v)++;
}

/*
 * The conntrack clock: CLOCK_MONOTONIC at tick resolution (a few ms). Entries
 * only need it for timeouts, rate limits and flow start/end, and it costs a
 * fraction of the precise clock, which the established path would pay on
 * every packet. Flow events keep the precise clock.
 */
static __always_inline __u64 zs_ct_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline __u32 zs_revision(void)
{
	__u32 zero = 0;
	struct zs_config *cfg = bpf_map_lookup_elem(&zs_config, &zero);

	/* One read per packet: everything below uses this revision's generation. */
	return cfg ? *(volatile __u32 *)&cfg->revision : 0;
}

#endif /* ZS_MAPS_H */

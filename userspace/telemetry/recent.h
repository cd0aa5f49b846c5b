/* SPDX-License-Identifier: MIT */
/*
 * The recent-flows sink: the last N flow record lines, oldest first, for
 * `zeroseg flows` (a replay of the last N), and the `flows --follow`
 * followers (client sockets that get each new line as it is emitted).
 *
 * A follower never slows the daemon: its socket is non-blocking, and a line
 * it cannot take whole is lost to it and counted in the sink's lost() (the
 * "followers" sink of the metrics). Filters (--from, --verdict ...) are the
 * client's: it asks for the whole history when it filters and keeps the
 * last N matches itself.
 *
 * Storage is one slot per line, allocated once and reused: a line only
 * costs an allocation when it is longer than any its slot held before.
 */
#ifndef ZS_RECENT_H
#define ZS_RECENT_H

#include <stddef.h>

struct zs_sink; /* telemetry/sink.h */

/* Lines kept (`zeroseg flows` says "the last 2048"). */
#ifndef ZS_RECENT_FLOWS
#define ZS_RECENT_FLOWS 2048
#endif

struct zs_recent;

/* Keeps the last `cap` lines (0: ZS_RECENT_FLOWS). 0 or -ENOMEM. */
int zs_recent_open(struct zs_recent **out, size_t cap);
/* The sink to add to the fan-out; its close frees `r` and closes the followers. */
struct zs_sink *zs_recent_sink(struct zs_recent *r);

/* Lines kept now, and the i-th of them, oldest first (NULL past the end). */
size_t zs_recent_count(const struct zs_recent *r);
const char *zs_recent_line(const struct zs_recent *r, size_t i, size_t *len);

/*
 * Sends the last `last` lines (0: all) to `fd`, oldest first, as they are
 * (blocking sends; the client is reading). 0, or the first send's -errno.
 */
int zs_recent_replay(const struct zs_recent *r, int fd, size_t last);

/*
 * Makes `fd` a follower: non-blocking from now, fed every new line. `r`
 * owns it from here (zs_recent_unfollow or the sink's close closes it).
 * 0 or -errno (then the caller still owns fd).
 */
int zs_recent_follow(struct zs_recent *r, int fd);
/* Forgets the follower `fd` (one that hung up) and closes it; any other fd is left alone. */
void zs_recent_unfollow(struct zs_recent *r, int fd);
size_t zs_recent_followers(const struct zs_recent *r);

#endif /* ZS_RECENT_H */

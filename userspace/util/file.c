// SPDX-License-Identifier: MIT
/* Directories and whole files, written atomically; see file.h. */
#define _GNU_SOURCE
#include "util/file.h"
#include "util/base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int zs_mkdir_p(const char *path, unsigned mode)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Writes all of data to fd, through short writes and EINTR. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int zs_write_prepare(const char *path, const void *data, size_t len, char **tmp)
{
	/* mkostemp: a fresh name, O_EXCL (so no symlink is followed), mode 0600. */
	char *t = zs_xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkostemp(t, O_CLOEXEC);
	int err;

	if (fd < 0) {
		err = -errno;
		free(t);
		return err;
	}
	err = write_all(fd, data, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err && errno != EINTR)
		err = -errno;
	if (err) {
		zs_write_discard(t);
		return err;
	}
	*tmp = t;
	return 0;
}

/* fsync of the directory holding `path`: a rename is durable only then. */
static int sync_dir_of(const char *path)
{
	char *dir = zs_xstrdup(path), *slash = strrchr(dir, '/');
	int fd, err = 0;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

int zs_write_publish(char *tmp, const char *path)
{
	int err = rename(tmp, path) ? -errno : 0;

	if (err) {
		unlink(tmp);
	} else if ((err = sync_dir_of(path))) {
		/* Published all the same: a crash now may leave the old file, still whole. */
		pr_warn("%s: fsync of its directory: %s", path, strerror(-err));
		err = 0;
	}
	free(tmp);
	return err;
}

void zs_write_discard(char *tmp)
{
	if (!tmp)
		return;
	unlink(tmp);
	free(tmp);
}

int zs_write_atomic(const char *path, const void *data, size_t len)
{
	char *tmp;
	int err = zs_write_prepare(path, data, len, &tmp);

	return err ? err : zs_write_publish(tmp, path);
}

int zs_lock_file(const char *path, int *fd, int *holder)
{
	char buf[32];
	int f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int err;

	*holder = 0;
	if (f < 0)
		return -errno;
	if (flock(f, LOCK_EX | LOCK_NB)) {
		err = -errno;
		ssize_t n = pread(f, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			*holder = atoi(buf);
		}
		close(f);
		return err; /* -EWOULDBLOCK: held */
	}
	/* The pid is for the refusal's message only: a full disk must not stop us here. */
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(f, 0) == 0 && pwrite(f, buf, (size_t)n, 0) != n && ftruncate(f, 0))
		pr_warn("%s: cannot write our pid into it", path);
	*fd = f;
	return 0;
}

int zs_read_file(const char *path, char **out, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
	size_t cap = 4096, n = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	buf = zs_xcalloc(cap, 1);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = zs_xrealloc(buf, cap, 1);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			close(fd);
			free(buf);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

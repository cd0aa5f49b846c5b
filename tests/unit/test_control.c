// SPDX-License-Identifier: MIT
/*
 * Unit tests for the control protocol's two ends that need no daemon: the
 * client (proto/client.h) against a fake daemon on a socketpair that
 * answers whole, not at all, or is cut off mid-line (the request must fail
 * with -ENODATA, never end as a silent success), and the daemon's request
 * reading (proto/request.h): gathered without blocking across partial
 * writes, whole only once the client shuts its side, refused past the
 * limit; and the decoding of what was read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/client.h"
#include "proto/proto.h"
#include "proto/request.h"

/* ---- the client against a fake daemon --------------------------------------- */

static int count_lines(json_t *msg, void *arg)
{
	(void)msg;
	++*(int *)arg;
	return 0;
}

/*
 * A fake daemon in a child process: reads the request to its end, writes
 * `answer` as it is, closes. Returns the client's result; *lines: how many
 * lines reached the callback.
 */
static int request_against(const char *answer, int *lines)
{
	int sv[2], rc;
	char buf[4096];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		while (read(sv[1], buf, sizeof(buf)) > 0)
			;
		if (write(sv[1], answer, strlen(answer)) < 0)
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	json_t *req = json_pack("{s:s}", ZS_K_VERB, "status");
	*lines = 0;
	rc = zs_client_request_fd(sv[0], req, count_lines, lines);
	json_decref(req);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return rc;
}

static void test_client_whole_answer(void **state)
{
	int lines;
	(void)state;

	assert_int_equal(request_against("{\"ok\":true,\"revision\":3}\n", &lines), 0);
	assert_int_equal(lines, 1);
}

static void test_client_no_answer(void **state)
{
	int lines;
	(void)state;

	assert_int_equal(request_against("", &lines), -ENODATA);
	assert_int_equal(lines, 0);
}

static void test_client_cut_mid_line(void **state)
{
	int lines;
	(void)state;

	assert_int_equal(request_against("{\"ok\":true,\"revis", &lines), -ENODATA);
	assert_int_equal(lines, 0);
}

/*
 * A stream is whole only with its end line, which the callback never sees; a
 * record with an "end" time is a record.
 */
static void test_client_stream(void **state)
{
	const char *recs = "{\"flow\":1}\n{\"flow\":2,\"end\":\"2026-12-07T23:00:00Z\"}\n";
	char *whole = NULL;
	int lines;
	(void)state;

	assert_int_equal(request_against(recs, &lines), -ENODATA);
	assert_int_equal(lines, 2);
	assert_true(asprintf(&whole, "%s{\"ok\":true,\"end\":true}\n", recs) > 0);
	assert_int_equal(request_against(whole, &lines), 0);
	assert_int_equal(lines, 2);
	free(whole);
	/* Records, then the end line cut off: not whole. */
	assert_int_equal(request_against("{\"flow\":1}\n{\"ok\":tr", &lines), -ENODATA);
}

/* ---- the daemon's request reading ------------------------------------------ */

static void test_reqbuf_partial_then_whole(void **state)
{
	struct zs_reqbuf b = { 0 };
	int sv[2];
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(zs_reqbuf_read(&b, sv[0]), 0); /* nothing yet: no block */
	assert_int_equal(write(sv[1], "{\"cmd\":", 7), 7);
	assert_int_equal(zs_reqbuf_read(&b, sv[0]), 0);
	assert_int_equal(write(sv[1], "\"status\"}", 9), 9);
	assert_int_equal(zs_reqbuf_read(&b, sv[0]), 0); /* not shut: more may come */
	shutdown(sv[1], SHUT_WR);
	assert_int_equal(zs_reqbuf_read(&b, sv[0]), 1);
	assert_int_equal(b.n, 16);
	char err[128];
	json_t *req = zs_request_decode(b.buf, b.n, err, sizeof(err));
	assert_non_null(req);
	assert_string_equal(json_string_value(json_object_get(req, ZS_K_VERB)), "status");
	json_decref(req);
	zs_reqbuf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

static void test_reqbuf_limit(void **state)
{
	struct zs_reqbuf b = { .max = 100 };
	char big[101];
	int sv[2];
	(void)state;

	memset(big, 'x', sizeof(big));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], big, 100), 100);
	assert_int_equal(zs_reqbuf_read(&b, sv[0]), 0); /* exactly the limit: fine */
	assert_int_equal(write(sv[1], big, 1), 1);
	assert_int_equal(zs_reqbuf_read(&b, sv[0]), -E2BIG);
	assert_true(b.cap <= 101); /* never grew past the limit */
	zs_reqbuf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

static void test_decode_refuses(void **state)
{
	char err[128];
	(void)state;

	assert_null(zs_request_decode("", 0, err, sizeof(err)));
	assert_non_null(strstr(err, "not JSON"));
	assert_null(zs_request_decode("[1]", 3, err, sizeof(err)));
	assert_null(zs_request_decode("{\"cmd\":1}", 9, err, sizeof(err)));
	assert_null(zs_request_decode("{\"cmd\":\"a\",\"cmd\":\"b\"}", 21, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_whole_answer),
		cmocka_unit_test(test_client_no_answer),
		cmocka_unit_test(test_client_cut_mid_line),
		cmocka_unit_test(test_client_stream),
		cmocka_unit_test(test_reqbuf_partial_then_whole),
		cmocka_unit_test(test_reqbuf_limit),
		cmocka_unit_test(test_decode_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

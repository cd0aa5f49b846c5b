// SPDX-License-Identifier: MIT
/*
 * status: the daemon's state as it reports it (revision, counts, packet
 * counters by drop reason, lost events), printed as indented JSON.
 */
#include "cli/cli.h"
#include "proto/proto.h"

static int on_status(json_t *msg, void *arg)
{
	(void)arg;
	if (!cli_ok(msg))
		return cli_print_errors(msg);
	json_object_del(msg, ZS_K_OK);
	cli_print_json(msg);
	return 0;
}

/* Takes no argument, and no option: nothing to parse. */
int cmd_status(const struct cli_cmd *cmd, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return cli_usage_err(cmd);
	json_t *req = json_pack("{s:s}", ZS_K_VERB, zs_verb_name(ZS_VERB_STATUS));
	int rc = cli_request(req, on_status, NULL);
	json_decref(req);
	return rc;
}

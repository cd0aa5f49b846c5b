// SPDX-License-Identifier: MIT
/*
 * The store's file back end (see store.h): the state as one JSON file,
 * DIR/state.json, rewritten whole and atomically at every commit from the
 * texts each object keeps, and read back through the one policy parser.
 */
#define _GNU_SOURCE
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/serial.h"

struct store_file {
	struct zs_store s; /* name: the file's path */
	char *path;
};

#define FILE_OF(st) ((struct store_file *)(st))

static void restore_identities(json_t *ids_json, struct zs_identities *ids)
{
	struct zs_identities from = { 0 };
	json_t *v;
	size_t i;

	json_array_foreach(ids_json, i, v)
	{
		struct zs_identity *x = ZS_VEC_PUSH(&from.v);
		const char *k;
		json_t *lv;
		json_object_foreach(json_object_get(v, "labels"), k, lv)
			zs_labels_set(&x->labels, k, json_string_value(lv) ?: "");
		x->id = (uint32_t)json_integer_value(json_object_get(v, "id"));
		x->ns = zs_xstrdup(json_string_value(json_object_get(v, "namespace")) ?: "default");
	}
	zs_identities_restore_all(ids, &from);
}

/*
 * One stored text through the policy parser. The state is ours, written
 * from objects that each passed the parser's bounds: it is parsed object by
 * object (version 2), so that an estate larger than one file's bounds
 * (ZS_MAX_POLICY_BYTES, ZS_MAX_NODES: many applies add up) still loads.
 */
static int parse_text(const char *path, json_t *array, struct zs_objects *objs, struct zs_diags *why)
{
	char *text = zs_objects_json_to_text(array);
	int err = zs_parse_buffer(path, text, strlen(text), objs, why);

	free(text);
	return err;
}

/* The objects: version 2 keeps them as JSON, version 1 as one text string. */
static int parse_objects(const char *path, json_t *objs_json, struct zs_objects *objs,
			 struct zs_diags *diags)
{
	struct zs_diags why = { 0 };
	int err = 0;

	if (json_is_array(objs_json)) {
		json_t *obj, *one = json_array();
		size_t i;
		json_array_foreach(objs_json, i, obj)
		{
			json_array_clear(one);
			json_array_append(one, obj);
			err = parse_text(path, one, objs, &why);
			if (err)
				break;
		}
		json_decref(one);
	} else {
		const char *text = json_string_value(objs_json) ?: "";
		err = zs_parse_buffer(path, text, strlen(text), objs, &why);
	}
	if (err) {
		zs_diag_line(diags, "%s: stored state does not parse:", path);
		for (size_t i = 0; i < why.msgs.n; i++)
			*ZS_VEC_PUSH(&diags->msgs) = zs_xstrdup(why.msgs.v[i]);
	}
	zs_diags_free(&why);
	return err;
}

static int file_load(struct zs_store *st, struct zs_objects *objs, struct zs_identities *ids,
		     struct zs_diags *diags)
{
	const char *path = FILE_OF(st)->path;
	json_error_t jerr;
	json_t *root;
	char *buf;
	int err;

	err = zs_read_file(path, &buf, NULL);
	if (err == -ENOENT)
		return 0;
	if (err) {
		zs_diag_line(diags, "%s: %s", path, strerror(-err));
		return err;
	}
	root = json_loads(buf, 0, &jerr);
	free(buf);
	if (!root) {
		zs_diag_line(diags, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	restore_identities(json_object_get(root, "identities"), ids);
	err = parse_objects(path, json_object_get(root, "objects"), objs, diags);
	json_decref(root);
	return err;
}

/* A prepared state: the temporary file that publish renames over the state. */
struct zs_store_txn {
	char *tmp;
};

static int file_prepare(struct zs_store *st, struct zs_objects *objs,
			const struct zs_identities *ids, struct zs_store_txn **txn)
{
	json_t *ids_json = json_array();
	char *ids_text, *objs_text, *tmp = NULL;
	int err;

	*txn = NULL;
	for (size_t i = 0; i < ids->v.n; i++) {
		const struct zs_identity *id = &ids->v.v[i];
		json_array_append_new(ids_json,
				      json_pack("{s:i,s:s,s:o}", "id", (json_int_t)id->id, "namespace",
						id->ns, "labels", zs_labels_to_json(&id->labels)));
	}
	ids_text = json_dumps(ids_json, JSON_COMPACT);
	objs_text = zs_objects_state_json(objs);
	if (!ids_text || !objs_text) {
		err = -ENOMEM; /* the file on disk stays as it was */
	} else {
		char *s = zs_xasprintf("{\"version\":2,\"identities\":%s,\"objects\":%s}\n",
				       ids_text, objs_text);
		err = zs_write_prepare(FILE_OF(st)->path, s, strlen(s), &tmp);
		free(s);
	}
	free(objs_text);
	free(ids_text);
	json_decref(ids_json);
	if (!err) {
		*txn = zs_xcalloc(1, sizeof(**txn));
		(*txn)->tmp = tmp;
	}
	return err;
}

static int file_publish(struct zs_store *st, struct zs_store_txn *txn)
{
	int err = zs_write_publish(txn->tmp, FILE_OF(st)->path);

	free(txn);
	return err;
}

static void file_abort(struct zs_store *st, struct zs_store_txn *txn)
{
	(void)st;
	zs_write_discard(txn->tmp);
	free(txn);
}

/* No one else writes the file: nothing to watch. */
static int file_watch(struct zs_store *st, int *fd)
{
	(void)st;
	*fd = -1;
	return 0;
}

static void file_close(struct zs_store *st)
{
	free(FILE_OF(st)->path);
	free(FILE_OF(st));
}

static const struct zs_store_ops file_ops = {
	.load = file_load,
	.prepare = file_prepare,
	.publish = file_publish,
	.abort = file_abort,
	.watch = file_watch,
	.close = file_close,
};

/*
 * Temporaries a killed daemon prepared and never published (up to the
 * state's size each): nobody else uses the directory, so they go.
 */
static void remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "state.json.tmp.", 15))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

int zs_store_file_open(struct zs_store **out, const char *dir)
{
	struct store_file *f;
	int err = zs_mkdir_p(dir, 0700);

	if (err)
		return err;
	remove_stale(dir);
	f = zs_xcalloc(1, sizeof(*f));
	f->path = zs_xasprintf("%s/state.json", dir);
	f->s.ops = &file_ops;
	f->s.name = f->path;
	*out = &f->s;
	return 0;
}

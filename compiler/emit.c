/* emit.c - the emitter: finds a template (an override folder first, then
 * the embedded copy), parses it and renders the view through it. The C
 * text itself lives in templates/; nothing here knows what C looks like.
 */
#include "emit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed.h"

/* read_file reads path whole. Returns 0, 1 when it does not exist, -1 on
 * any other error (reported to err). *text is malloc'd. */
static int read_file(const char *path, char **text, size_t *len, tmpl_buf *err)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT)
			return 1;
		goto fail;
	}
	tmpl_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		tmpl_buf_add(&b, chunk, n);
	tmpl_buf_add(&b, "", 0);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		tmpl_buf_fini(&b);
		goto fail;
	}
	*text = b.data;
	*len = b.len;
	return 0;
fail:;
	char msg[1024];
	snprintf(msg, sizeof msg, "rpcgen-c: error: %s: %s\n", path,
	         strerror(errno));
	tmpl_buf_add(err, msg, strlen(msg));
	return -1;
}

int emit_render(const char *template_dir, const char *name,
                const tmpl_val *view, tmpl_buf *out, tmpl_buf *err)
{
	char *owned = NULL;
	char *path = NULL;
	const char *label = name;
	const char *text = NULL;
	size_t len = 0;
	tmpl *t = NULL;
	int rc = -1;

	if (template_dir != NULL) {
		size_t n = strlen(template_dir) + strlen(name) + 2;
		path = malloc(n);
		if (path == NULL)
			goto out;
		snprintf(path, n, "%s/%s", template_dir, name);
		int r = read_file(path, &owned, &len, err);
		if (r < 0)
			goto out;
		if (r == 0) {
			text = owned;
			label = path;
		}
	}
	if (text == NULL) {
		for (size_t i = 0; i < embed_n_templates; i++) {
			if (strcmp(embed_templates[i].name, name) == 0) {
				text = embed_templates[i].text;
				len = embed_templates[i].len;
				break;
			}
		}
	}
	if (text == NULL) {
		char msg[256];
		snprintf(msg, sizeof msg,
		         "rpcgen-c: error: no template named '%s'\n", name);
		tmpl_buf_add(err, msg, strlen(msg));
		goto out;
	}
	if (tmpl_parse(label, text, len, &t, err) < 0)
		goto out;
	rc = tmpl_render(t, view, out, err);
out:
	tmpl_free(t);
	free(owned);
	free(path);
	return rc;
}

/* embed.h - the templates compiled into rpcgen-c (embed.py writes the
 * table from the .tmpl files of templates/ at build time). */
#ifndef RPCGEN_EMBED_H
#define RPCGEN_EMBED_H

#include <stddef.h>

typedef struct embed_template {
	const char *name; /* "header.tmpl" */
	const char *text;
	size_t len;
} embed_template;

extern const embed_template embed_templates[];
extern const size_t embed_n_templates;

#endif

/* debug.c - the debug page at /debug/rpc, as Go's debug.go renders it.
 *
 * The text is what Go's template produces, whitespace included: services
 * sorted by name, each method as "Name(ArgType, *ReplyType) error" with its
 * call count. Names are HTML-escaped ("list<Args>").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"
#include "server_internal.h"

static bool debug_put(rpci_buf *b, const char *s)
{
	return rpci_buf_append(b, s, strlen(s));
}

static bool debug_escaped(rpci_buf *b, const char *s)
{
	bool ok = true;

	for (; ok && *s != '\0'; s++) {
		switch (*s) {
		case '<':
			ok = debug_put(b, "&lt;");
			break;
		case '>':
			ok = debug_put(b, "&gt;");
			break;
		case '&':
			ok = debug_put(b, "&amp;");
			break;
		case '"':
			ok = debug_put(b, "&#34;");
			break;
		case '\'':
			ok = debug_put(b, "&#39;");
			break;
		default:
			ok = rpci_buf_append(b, s, 1);
			break;
		}
	}
	return ok;
}

char *rpci_debug_page(rpc_server *srv, size_t *len)
{
	const rpci_snapshot *snap = rpci_registry_snapshot(&srv->reg);
	rpci_buf b = {0};
	bool ok;
	char num[32];

	ok = debug_put(&b, "<html>\n\t<body>\n\t<title>Services</title>\n\t");
	for (size_t i = 0; ok && snap != NULL && i < snap->n; i++) {
		const rpci_service *s = snap->services[i];
		ok = debug_put(&b, "\n\t<hr>\n\tService ") &&
		     debug_escaped(&b, s->name) &&
		     debug_put(&b,
		               "\n\t<hr>\n\t\t<table>\n\t\t<th align=center>"
		               "Method</th><th align=center>Calls</th>\n\t\t");
		for (size_t j = 0; ok && j < s->n_methods; j++) {
			const rpci_method *m = &s->methods[j];
			snprintf(num, sizeof(num), "%" PRIu64,
			         (uint64_t)atomic_load(&m->calls));
			ok = debug_put(&b, "\n\t\t\t<tr>\n\t\t\t<td align=left "
			                   "font=fixed>") &&
			     debug_escaped(&b, m->m->name) &&
			     debug_put(&b, "(") &&
			     debug_escaped(&b, m->m->args->name) &&
			     debug_put(&b, ", *") &&
			     debug_escaped(&b, m->m->reply->name) &&
			     debug_put(&b, ") error</td>\n\t\t\t<td "
			                   "align=center>") &&
			     debug_put(&b, num) &&
			     debug_put(&b, "</td>\n\t\t\t</tr>\n\t\t");
		}
		ok = ok && debug_put(&b, "\n\t\t</table>\n\t");
	}
	ok = ok && debug_put(&b, "\n\t</body>\n\t</html>") &&
	     rpci_buf_append(&b, "", 1);
	if (!ok) {
		rpci_buf_fini(&b);
		return NULL;
	}
	*len = b.len - 1;
	return (char *)b.data;
}

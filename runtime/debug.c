/* debug.c - the debug page at /debug/rpc, as Go's debug.go renders it.
 *
 * The text is what Go's template produces, whitespace included: services
 * sorted by name, each method as "Name(ArgType, *ReplyType) error" with its
 * call count. Names are HTML-escaped ("list<Args>"). Go's columns come
 * first and unchanged; ours follow them (errors, calls in flight, handler
 * latency p50/p99 from the method's histogram, calls the authorize hook
 * denied), and a line after the
 * tables gives the open connections and the bytes read and written on
 * served connections.
 *
 * The same data as JSON (GET /debug/rpc?format=json or /debug/rpc.json,
 * docs/rpc-call.md) is what `rpc-call --list --http ADDRESS` reads.
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

/* debug_counters writes errors, in flight, p50, p99 and denied of m, each
 * between pre and post. */
static bool debug_counters(rpci_buf *b, const rpci_method *m, const char *pre,
                           const char *post)
{
	char num[5][32];

	snprintf(num[0], sizeof(num[0]), "%" PRIu64,
	         (uint64_t)atomic_load(&m->errors));
	snprintf(num[1], sizeof(num[1]), "%" PRIu64,
	         (uint64_t)atomic_load(&m->in_flight));
	snprintf(num[2], sizeof(num[2]), "%.3f", rpci_method_latency(m, 50));
	snprintf(num[3], sizeof(num[3]), "%.3f", rpci_method_latency(m, 99));
	snprintf(num[4], sizeof(num[4]), "%" PRIu64,
	         (uint64_t)atomic_load(&m->denied));
	for (int i = 0; i < 5; i++)
		if (!debug_put(b, pre) || !debug_put(b, num[i]) ||
		    !debug_put(b, post))
			return false;
	return true;
}

static size_t debug_conns(rpc_server *srv)
{
	size_t n;

	pthread_mutex_lock(&srv->mu);
	n = srv->n_conns;
	pthread_mutex_unlock(&srv->mu);
	return n;
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
		ok =
		    debug_put(&b, "\n\t<hr>\n\tService ") &&
		    debug_escaped(&b, s->name) &&
		    debug_put(&b, "\n\t<hr>\n\t\t<table>\n\t\t<th align=center>"
		                  "Method</th><th align=center>Calls</th>"
		                  "<th align=center>Errors</th>"
		                  "<th align=center>In flight</th>"
		                  "<th align=center>p50 ms</th>"
		                  "<th align=center>p99 ms</th>"
		                  "<th align=center>Denied</th>\n\t\t");
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
			     debug_put(&b, num) && debug_put(&b, "</td>") &&
			     debug_counters(&b, m, "\n\t\t\t<td align=center>",
			                    "</td>") &&
			     debug_put(&b, "\n\t\t\t</tr>\n\t\t");
		}
		ok = ok && debug_put(&b, "\n\t\t</table>\n\t");
	}
	snprintf(num, sizeof(num), "%zu", debug_conns(srv));
	ok = ok && debug_put(&b, "\n\tConnections ") && debug_put(&b, num);
	snprintf(num, sizeof(num), "%" PRIu64,
	         (uint64_t)atomic_load(&srv->bytes_in));
	ok = ok && debug_put(&b, ", bytes in ") && debug_put(&b, num);
	snprintf(num, sizeof(num), "%" PRIu64,
	         (uint64_t)atomic_load(&srv->bytes_out));
	ok = ok && debug_put(&b, ", bytes out ") && debug_put(&b, num);
	ok = ok && debug_put(&b, "\n\t</body>\n\t</html>") &&
	     rpci_buf_append(&b, "", 1);
	if (!ok) {
		rpci_buf_fini(&b);
		return NULL;
	}
	*len = b.len - 1;
	return (char *)b.data;
}

/* debug_json_str writes s as a JSON string. */
static bool debug_json_str(rpci_buf *b, const char *s)
{
	bool ok = debug_put(b, "\"");
	char esc[8];

	for (; ok && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			esc[2] = '\0';
			ok = debug_put(b, esc);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			ok = debug_put(b, esc);
		} else {
			ok = rpci_buf_append(b, s, 1);
		}
	}
	return ok && debug_put(b, "\"");
}

char *rpci_debug_page_json(rpc_server *srv, size_t *len)
{
	const rpci_snapshot *snap = rpci_registry_snapshot(&srv->reg);
	rpci_buf b = {0};
	bool ok;
	char num[128];

	ok = debug_put(&b, "{\"services\":[");
	for (size_t i = 0; ok && snap != NULL && i < snap->n; i++) {
		const rpci_service *s = snap->services[i];
		ok = debug_put(&b, i > 0 ? ",{\"name\":" : "{\"name\":") &&
		     debug_json_str(&b, s->name) &&
		     debug_put(&b, ",\"methods\":[");
		for (size_t j = 0; ok && j < s->n_methods; j++) {
			const rpci_method *m = &s->methods[j];
			ok = debug_put(&b,
			               j > 0 ? ",{\"name\":" : "{\"name\":") &&
			     debug_json_str(&b, m->m->name) &&
			     debug_put(&b, ",\"args\":") &&
			     debug_json_str(&b, m->m->args->name) &&
			     debug_put(&b, ",\"reply\":") &&
			     debug_json_str(&b, m->m->reply->name);
			snprintf(num, sizeof(num), ",\"calls\":%" PRIu64,
			         (uint64_t)atomic_load(&m->calls));
			ok = ok && debug_put(&b, num);
			snprintf(num, sizeof(num), ",\"errors\":%" PRIu64,
			         (uint64_t)atomic_load(&m->errors));
			ok = ok && debug_put(&b, num);
			snprintf(num, sizeof(num), ",\"denied\":%" PRIu64,
			         (uint64_t)atomic_load(&m->denied));
			ok = ok && debug_put(&b, num);
			snprintf(num, sizeof(num), ",\"in_flight\":%" PRIu64,
			         (uint64_t)atomic_load(&m->in_flight));
			ok = ok && debug_put(&b, num);
			snprintf(num, sizeof(num), ",\"p50_ms\":%.3f",
			         rpci_method_latency(m, 50));
			ok = ok && debug_put(&b, num);
			snprintf(num, sizeof(num), ",\"p99_ms\":%.3f}",
			         rpci_method_latency(m, 99));
			ok = ok && debug_put(&b, num);
		}
		ok = ok && debug_put(&b, "]}");
	}
	snprintf(num, sizeof(num),
	         "],\"connections\":%zu,\"bytes_in\":%" PRIu64
	         ",\"bytes_out\":%" PRIu64 "}\n",
	         debug_conns(srv), (uint64_t)atomic_load(&srv->bytes_in),
	         (uint64_t)atomic_load(&srv->bytes_out));
	ok = ok && debug_put(&b, num) && rpci_buf_append(&b, "", 1);
	if (!ok) {
		rpci_buf_fini(&b);
		return NULL;
	}
	*len = b.len - 1;
	return (char *)b.data;
}

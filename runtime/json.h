/* json.h - the JSON layers under the JSON-RPC codec (private to librpc).
 *
 *   json_syntax.c  JSON syntax as Go's encoding/json reads it: the
 *                  resumable scanner that finds where one top-level value
 *                  ends (and validates it), UTF-8, and a cursor that reads
 *                  values out of text the scanner accepted.
 *   json_write.c   the Go-compatible writer: strings quoted and escaped as
 *                  Go's encoder does, floats in Go's shortest form, base64.
 *   codec_json.c   the body codec (protobuf-c descriptors <-> JSON) and the
 *                  rpc_codec_json ops table; the only user of the above.
 *
 * Each function is described where it is defined. */
#ifndef RPCI_JSON_H
#define RPCI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* JSON_MAX_DEPTH bounds the nesting of arrays and objects in one message. */
#define JSON_MAX_DEPTH 100

#define JSON_AT(msg, off, type) ((type *)((char *)(msg) + (off)))

/* Where a scan stopped for want of bytes: always at a token boundary, so
 * that it resumes there when the same bytes come back with more after
 * them (RPCI_READ_AGAIN consumes nothing). Resuming keeps a large message
 * that arrives in many reads linear to scan. */
enum { SCAN_AT_START, SCAN_AT_VALUE, SCAN_AT_AFTER, SCAN_AT_KEY };

typedef struct scan_resume {
	size_t pos;   /* where to go on */
	size_t start; /* where the value began */
	int at;       /* SCAN_AT_* */
	int depth;
	char stack[JSON_MAX_DEPTH]; /* '{' or '[' for each open level */
	/* A string cut off by the end of the input: the one whose quote is
	 * at str_quote was valid up to str_next (0: none), where its scan
	 * goes on, so a long string in many reads is scanned once. */
	size_t str_quote;
	size_t str_next;
} scan_resume;

typedef enum scan_status { SCAN_OK, SCAN_AGAIN, SCAN_ERROR } scan_status;

typedef struct scanner {
	const uint8_t *in;
	size_t len;
	size_t pos;
	char err[128];
} scanner;

typedef struct jcur {
	const uint8_t *p;
	const uint8_t *end;
} jcur;

typedef struct jw {
	rpci_buf *b;
	bool oom;
	rpc_error *err; /* first encoding error */
	int depth;
} jw;

/* ---- json_syntax.c ------------------------------------------------------- */

void rpci_json_scan_reset(scan_resume *r);
/* rpci_json_quote_char spells byte c the way Go's scanner messages do
 * ('x', or '\n'-style escapes) into out (n bytes). */
void rpci_json_quote_char(uint8_t c, char *out, size_t n);
size_t rpci_json_utf8_decode(const uint8_t *s, size_t n, uint32_t *r);
bool rpci_json_is_space(uint8_t c);
scan_status rpci_json_scan(scanner *sc, scan_resume *r, size_t *start,
                           size_t *end);
void rpci_json_cur_space(jcur *c);
int rpci_json_cur_peek(jcur *c);
bool rpci_json_cur_eat(jcur *c, uint8_t ch);
bool rpci_json_cur_skip(jcur *c);
rpc_error *rpci_json_cur_string(jcur *c, char **out, size_t *out_len,
                                bool *has_nul);
rpc_error *rpci_json_cur_text(jcur *c, bool big, char **out, size_t *out_len,
                              bool *has_nul);
bool rpci_json_cur_number(jcur *c, const char **text, size_t *len);
const char *rpci_json_kind_of(jcur *c);

/* ---- json_write.c -------------------------------------------------------- */

double rpci_json_strtod(const char *s, bool single);
void rpci_json_jw_put(jw *w, const void *p, size_t n);
void rpci_json_jw_str(jw *w, const char *s);
void rpci_json_jw_fail(jw *w, rpc_error *err);
void rpci_json_jw_quote(jw *w, const uint8_t *s, size_t n);
void rpci_json_jw_cstr(jw *w, const char *s);
/* rpci_json_compact_raw's result is an rpci_buf's data: free it with
 * rpci_big_free (a large id is a big block). */
char *rpci_json_compact_raw(const uint8_t *p, const uint8_t *end);
void rpci_json_jw_float(jw *w, double v, bool single);
void rpci_json_jw_base64(jw *w, const uint8_t *s, size_t n);

#endif

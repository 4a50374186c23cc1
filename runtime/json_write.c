/* json_write.c - the Go-compatible JSON writer (json.h).
 *
 * Writes what Go's encoding/json writes for the same values, byte for
 * byte: strings with Go's HTML-safe escaping (and invalid UTF-8 replaced by
 * U+FFFD), floats in Go's shortest round-trip form ('e' notation outside
 * [1e-6, 1e21)), bytes as padded standard base64. A writer (jw) appends to
 * a buffer and remembers the first failure, so callers write a whole value
 * and check once.
 */
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"
#include "json.h"

/* ---- numbers in the C locale --------------------------------------------- */

static locale_t json_c_locale;
static pthread_once_t json_locale_once = PTHREAD_ONCE_INIT;

static void json_locale_init(void)
{
	json_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* rpci_json_strtod reads a number as strtod does (strtof when single), in
 * the C locale whatever the process's locale. */
double rpci_json_strtod(const char *s, bool single)
{
	pthread_once(&json_locale_once, json_locale_init);
	if (json_c_locale != (locale_t)0)
		return single ? strtof_l(s, NULL, json_c_locale)
		              : strtod_l(s, NULL, json_c_locale);
	return single ? strtof(s, NULL) : strtod(s, NULL);
}

/* ---- writing ------------------------------------------------------------- */

void rpci_json_jw_put(jw *w, const void *p, size_t n)
{
	if (!w->oom && !rpci_buf_append(w->b, p, n))
		w->oom = true;
}

void rpci_json_jw_str(jw *w, const char *s)
{
	rpci_json_jw_put(w, s, strlen(s));
}

void rpci_json_jw_fail(jw *w, rpc_error *err)
{
	if (w->err == NULL)
		w->err = err;
	else
		rpc_error_free(err);
}

static const char json_hex[] = "0123456789abcdef";

/* rpci_json_jw_quote writes s[0..n) as a JSON string, escaped as Go's encoder
 * does with HTML escaping on (its default). */
void rpci_json_jw_quote(jw *w, const uint8_t *s, size_t n)
{
	size_t i = 0, start = 0, k;
	char esc[8];
	uint32_t r;

	rpci_json_jw_put(w, "\"", 1);
	while (i < n) {
		uint8_t c = s[i];

		if (c < 0x80) {
			if (c >= 0x20 && c != '"' && c != '\\' && c != '<' &&
			    c != '>' && c != '&') {
				i++;
				continue;
			}
			rpci_json_jw_put(w, s + start, i - start);
			switch (c) {
			case '"':
				rpci_json_jw_str(w, "\\\"");
				break;
			case '\\':
				rpci_json_jw_str(w, "\\\\");
				break;
			case '\n':
				rpci_json_jw_str(w, "\\n");
				break;
			case '\r':
				rpci_json_jw_str(w, "\\r");
				break;
			case '\t':
				rpci_json_jw_str(w, "\\t");
				break;
			default:
				memcpy(esc, "\\u00", 4);
				esc[4] = json_hex[c >> 4];
				esc[5] = json_hex[c & 15];
				rpci_json_jw_put(w, esc, 6);
			}
			start = ++i;
			continue;
		}
		k = rpci_json_utf8_decode(s + i, n - i, &r);
		if (k == 0) {
			rpci_json_jw_put(w, s + start, i - start);
			rpci_json_jw_str(w, "\\ufffd");
			start = ++i;
			continue;
		}
		if (r == 0x2028 || r == 0x2029) {
			rpci_json_jw_put(w, s + start, i - start);
			rpci_json_jw_str(w,
			                 r == 0x2028 ? "\\u2028" : "\\u2029");
			i += k;
			start = i;
			continue;
		}
		i += k;
	}
	rpci_json_jw_put(w, s + start, n - start);
	rpci_json_jw_put(w, "\"", 1);
}

void rpci_json_jw_cstr(jw *w, const char *s)
{
	rpci_json_jw_quote(w, (const uint8_t *)s, s == NULL ? 0 : strlen(s));
}

/* rpci_json_compact_raw copies the validated JSON text [p, end) without white
 * space, HTML-escaping strings as Go's encoder does with a json.RawMessage. */
char *rpci_json_compact_raw(const uint8_t *p, const uint8_t *end)
{
	rpci_buf b = {0};
	jw w = {.b = &b};
	bool in_str = false;
	const uint8_t *s;
	char esc[7];

	for (s = p; s < end; s++) {
		uint8_t c = *s;

		if (!in_str && rpci_json_is_space(c))
			continue;
		if (c == '<' || c == '>' || c == '&') {
			memcpy(esc, "\\u00", 4);
			esc[4] = json_hex[c >> 4];
			esc[5] = json_hex[c & 15];
			rpci_json_jw_put(&w, esc, 6);
			continue;
		}
		if (c == 0xE2 && end - s > 2 && s[1] == 0x80 &&
		    (s[2] & ~1) == 0xA8) {
			rpci_json_jw_str(&w,
			                 s[2] == 0xA8 ? "\\u2028" : "\\u2029");
			s += 2;
			continue;
		}
		rpci_json_jw_put(&w, s, 1);
		if (in_str && c == '\\' && s + 1 < end) {
			rpci_json_jw_put(&w, ++s, 1);
			continue;
		}
		if (c == '"')
			in_str = !in_str;
	}
	rpci_json_jw_put(&w, "", 1);
	if (w.oom) {
		rpci_buf_fini(&b);
		return NULL;
	}
	return (char *)b.data;
}

/* float_format writes the p significant digits of a (> 0), correctly
 * rounded by printf, into digits, and its decimal exponent into *exp10. */
static void float_format(double a, int p, char *digits, int *exp10)
{
	char tmp[48];
	const char *t;
	int n = 0;

	snprintf(tmp, sizeof tmp, "%.*e", p - 1, a);
	/* digits and exponent, whatever the locale's decimal point */
	for (t = tmp; *t != '\0' && *t != 'e' && n < p; t++)
		if (isdigit((unsigned char)*t))
			digits[n++] = *t;
	while (*t != '\0' && *t != 'e')
		t++;
	*exp10 = *t == 'e' ? atoi(t + 1) : 0;
}

/* float_round rounds the max digits of full (exponent fexp) to p digits.
 * Returns false when full ends in exactly half a unit of the p-th digit:
 * then only the exact value can say which way to round. */
static bool float_round(const char *full, int max, int fexp, int p,
                        char *digits, int *exp10)
{
	int i;
	bool up;

	memcpy(digits, full, (size_t)p);
	*exp10 = fexp;
	if (p == max)
		return true;
	up = full[p] > '5';
	if (full[p] == '5') {
		for (i = p + 1; i < max && full[i] == '0'; i++)
			;
		if (i == max)
			return false;
		up = true;
	}
	if (!up)
		return true;
	for (i = p - 1; i >= 0 && digits[i] == '9'; i--)
		digits[i] = '0';
	if (i >= 0) {
		digits[i]++;
	} else { /* 9.99 -> 10.0 */
		digits[0] = '1';
		(*exp10)++;
	}
	return true;
}

/* float_roundtrips says whether the p digits read back as a (as a float32
 * when single). */
static bool float_roundtrips(double a, const char *digits, int p, int exp10,
                             bool single)
{
	char canon[48];

	snprintf(canon, sizeof canon, "%c%s%.*se%d", digits[0],
	         p > 1 ? "." : "", p - 1, digits + 1, exp10);
	if (single)
		return (float)rpci_json_strtod(canon, true) == (float)a;
	return rpci_json_strtod(canon, false) == a;
}

/* float_shortest finds the fewest digits that read back as a (> 0),
 * correctly rounded, as Go's strconv does: one printf for all 17 (or 9)
 * digits, shorter candidates rounded from them, the length bisected (if p
 * digits read back, so do p + 1). */
static void float_shortest(double a, bool single, char *digits, int *nd,
                           int *exp10)
{
	int max = single ? 9 : 17, lo = 1, hi = max, p, fexp, e;
	char full[24], cand[24];

	float_format(a, max, full, &fexp);
	while (lo < hi) {
		p = (lo + hi) / 2;
		if (!float_round(full, max, fexp, p, cand, &e))
			float_format(a, p, cand, &e);
		if (float_roundtrips(a, cand, p, e, single))
			hi = p;
		else
			lo = p + 1;
	}
	if (!float_round(full, max, fexp, lo, digits, exp10))
		float_format(a, lo, digits, exp10);
	*nd = lo;
}

/* rpci_json_jw_float writes v the way Go's encoding/json does: the shortest
 * decimal that reads back as the same float32/float64, in plain notation for
 * 1e-6 <= |v| < 1e21 and as d.ddde±x otherwise. NaN and infinities are
 * errors, as in Go. */
void rpci_json_jw_float(jw *w, double v, bool single)
{
	char digits[24], out[400];
	int exp10 = 0, nd = 0, i, pos = 0;
	double a = fabs(v);
	bool use_e;

	if (isnan(v) || isinf(v)) {
		rpci_json_jw_fail(w, rpci_error(RPC_ERR_INVALID,
		                                "json: unsupported value: %s",
		                                isnan(v) ? "NaN"
		                                : v > 0  ? "+Inf"
		                                         : "-Inf"));
		return;
	}
	if (v == 0) {
		rpci_json_jw_str(w, signbit(v) ? "-0" : "0");
		return;
	}
	if (a == floor(a) && a < (single ? 1e7 : 1e15)) {
		/* an integer this small is its own shortest form */
		uint64_t u = (uint64_t)a;
		char rev[24];
		int k = 0;

		do {
			rev[k++] = (char)('0' + u % 10);
			u /= 10;
		} while (u > 0);
		for (nd = 0; nd < k; nd++)
			digits[nd] = rev[k - 1 - nd];
		exp10 = k - 1;
	} else {
		float_shortest(a, single, digits, &nd, &exp10);
	}
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (single)
		use_e = (float)a < 1e-6f || (float)a >= 1e21f;
	else
		use_e = a < 1e-6 || a >= 1e21;
	if (signbit(v))
		out[pos++] = '-';
	if (use_e) {
		out[pos++] = digits[0];
		if (nd > 1) {
			out[pos++] = '.';
			memcpy(out + pos, digits + 1, (size_t)nd - 1);
			pos += nd - 1;
		}
		pos += snprintf(out + pos, sizeof out - (size_t)pos,
		                exp10 < 0 ? "e-%d" : "e+%02d", abs(exp10));
	} else if (exp10 >= 0) {
		for (i = 0; i <= exp10; i++)
			out[pos++] = i < nd ? digits[i] : '0';
		if (nd > exp10 + 1) {
			out[pos++] = '.';
			for (; i < nd; i++)
				out[pos++] = digits[i];
		}
	} else {
		out[pos++] = '0';
		out[pos++] = '.';
		for (i = 0; i < -exp10 - 1; i++)
			out[pos++] = '0';
		memcpy(out + pos, digits, (size_t)nd);
		pos += nd;
	}
	rpci_json_jw_put(w, out, (size_t)pos);
}

void rpci_json_jw_base64(jw *w, const uint8_t *s, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	size_t i;

	rpci_json_jw_put(w, "\"", 1);
	for (i = 0; i + 2 < n; i += 3) {
		q[0] = b64[s[i] >> 2];
		q[1] = b64[(s[i] & 3) << 4 | s[i + 1] >> 4];
		q[2] = b64[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		q[3] = b64[s[i + 2] & 63];
		rpci_json_jw_put(w, q, 4);
	}
	if (n - i == 1) {
		q[0] = b64[s[i] >> 2];
		q[1] = b64[(s[i] & 3) << 4];
		q[2] = q[3] = '=';
		rpci_json_jw_put(w, q, 4);
	} else if (n - i == 2) {
		q[0] = b64[s[i] >> 2];
		q[1] = b64[(s[i] & 3) << 4 | s[i + 1] >> 4];
		q[2] = b64[(s[i + 1] & 15) << 2];
		q[3] = '=';
		rpci_json_jw_put(w, q, 4);
	}
	rpci_json_jw_put(w, "\"", 1);
}

/* certs.c - test certificates made with OpenSSL (certs.h). P-256 keys:
 * quick to make, and both OpenSSL and Go take them. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certs.h"

enum { DAY = 24 * 3600 };

static bool certs_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	bool ok = e != NULL && X509_add_ext(x, e, -1) == 1;

	X509_EXTENSION_free(e);
	return ok;
}

/* certs_new makes a certificate for key named cn, valid from from_s to
 * to_s seconds from now, signed by issuer (NULL: self-signed). */
static X509 *certs_new(EVP_PKEY *key, const char *cn, X509 *issuer,
                       EVP_PKEY *issuer_key, bool ca, const char *san,
                       long from_s, long to_s, long serial)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_NAME *n;
	bool ok;

	if (x == NULL)
		return NULL;
	n = X509_get_subject_name(x);
	ok = X509_set_version(x, 2) == 1 &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), from_s) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), to_s) != NULL &&
	     X509_set_pubkey(x, key) == 1 &&
	     X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	                                (const unsigned char *)"rpcgen-c tests",
	                                -1, -1, 0) == 1 &&
	     X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	                                (const unsigned char *)cn, -1, -1,
	                                0) == 1 &&
	     X509_set_issuer_name(x, issuer != NULL
	                                 ? X509_get_subject_name(issuer)
	                                 : n) == 1;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	ok = ok &&
	     certs_ext(x, &ctx, NID_basic_constraints,
	               ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
	     certs_ext(x, &ctx, NID_key_usage,
	               ca ? "critical,keyCertSign,cRLSign"
	                  : "critical,digitalSignature") &&
	     certs_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
	     (ca || certs_ext(x, &ctx, NID_ext_key_usage,
	                      "serverAuth,clientAuth")) &&
	     (issuer == NULL ||
	      certs_ext(x, &ctx, NID_authority_key_identifier, "keyid")) &&
	     (san == NULL || certs_ext(x, &ctx, NID_subject_alt_name, san)) &&
	     X509_sign(x, issuer_key != NULL ? issuer_key : key,
	               EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static bool certs_write(const char *dir, const char *name, X509 *x,
                        EVP_PKEY *key)
{
	char path[4096];
	FILE *f;
	bool ok;

	snprintf(path, sizeof path, "%s/%s.pem", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return false;
	ok = PEM_write_X509(f, x) == 1;
	ok = fclose(f) == 0 && ok;
	if (!ok || key == NULL)
		return ok;
	snprintf(path, sizeof path, "%s/%s.key", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		return false;
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	return fclose(f) == 0 && ok;
}

bool certs_make(const char *dir)
{
	static const char server_san[] =
	    "DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1";
	struct {
		const char *name, *cn, *san;
		bool other; /* signed by other-ca */
		long from, to;
	} leaves[] = {
	    {"server", "server", server_san, false, -DAY, 30 * DAY},
	    {"client", "alice", "DNS:alice.example", false, -DAY, 30 * DAY},
	    {"expired", "server", server_san, false, -3 * DAY, -DAY},
	    {"wrongname", "other", "DNS:other.example", false, -DAY, 30 * DAY},
	    {"untrusted", "server", server_san, true, -DAY, 30 * DAY},
	};
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	EVP_PKEY *other_key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *other = NULL;
	bool ok = ca_key != NULL && other_key != NULL;

	if (ok) {
		ca = certs_new(ca_key, "rpcgen-c test CA", NULL, NULL, true,
		               NULL, -DAY, 30 * DAY, 1);
		other = certs_new(other_key, "nobody's CA", NULL, NULL, true,
		                  NULL, -DAY, 30 * DAY, 1);
		ok = ca != NULL && other != NULL &&
		     certs_write(dir, "ca", ca, NULL) &&
		     certs_write(dir, "other-ca", other, NULL);
	}
	for (size_t i = 0; ok && i < sizeof leaves / sizeof *leaves; i++) {
		EVP_PKEY *key = EVP_EC_gen("P-256");
		X509 *x = key == NULL
		              ? NULL
		              : certs_new(key, leaves[i].cn,
		                          leaves[i].other ? other : ca,
		                          leaves[i].other ? other_key : ca_key,
		                          false, leaves[i].san, leaves[i].from,
		                          leaves[i].to, (long)i + 2);
		ok = x != NULL && certs_write(dir, leaves[i].name, x, key);
		X509_free(x);
		EVP_PKEY_free(key);
	}
	if (!ok) {
		fprintf(stderr, "certs_make: ");
		ERR_print_errors_fp(stderr);
		fprintf(stderr, "\n");
	}
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	return ok;
}

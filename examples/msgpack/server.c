/* server.c - the KV server, speaking MessagePack-RPC through the example
 * codec (msgpack_codec.h): any MessagePack-RPC client can call it.
 *
 *   kv-server [RPC_ADDRESS]
 *
 * Serves KV on RPC_ADDRESS (default tcp:127.0.0.1:0), prints
 * "listening ADDRESS" with the bound port, and runs until SIGINT or
 * SIGTERM.
 */
#define _POSIX_C_SOURCE 200809L /* sigwait, strdup in strict C11 */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.rpc.h"
#include "msgpack_codec.h"

/* kv_store is the handlers' self: items by key, in insertion order. mu
 * protects everything (handlers run on several threads at once). */
typedef struct kv_store {
	pthread_mutex_t mu;
	size_t n;
	kv_Item *items; /* malloc'd; each item's contents owned by the store */
} kv_store;

static kv_Item *store_find(kv_store *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].Key, key) == 0)
			return &s->items[i];
	return NULL;
}

static rpc_error *kv_put(void *self, const kv_Item *item, kv_Stored *reply)
{
	kv_store *s = self;
	kv_Item copy;
	rpc_error *err = NULL;

	if (!kv_Item_copy(&copy, item))
		return rpc_error_new("kv: out of memory");
	pthread_mutex_lock(&s->mu);
	kv_Item *old = store_find(s, item->Key);
	if (old != NULL) {
		kv_Item_free_contents(old);
		*old = copy;
	} else {
		kv_Item *grown = realloc(s->items, (s->n + 1) * sizeof *grown);
		if (grown == NULL) {
			kv_Item_free_contents(&copy);
			err = rpc_error_new("kv: out of memory");
		} else {
			s->items = grown;
			s->items[s->n++] = copy;
		}
	}
	reply->Size = (int64_t)s->n;
	pthread_mutex_unlock(&s->mu);
	if (err == NULL && (reply->Key = strdup(item->Key)) == NULL)
		err = rpc_error_new("kv: out of memory");
	return err;
}

static rpc_error *kv_get(void *self, const char *key, kv_Item *reply)
{
	kv_store *s = self;
	rpc_error *err = NULL;

	pthread_mutex_lock(&s->mu);
	kv_Item *it = store_find(s, key);
	if (it == NULL)
		err = rpc_error_new("kv: no such key");
	else if (!kv_Item_copy(reply, it))
		err = rpc_error_new("kv: out of memory");
	pthread_mutex_unlock(&s->mu);
	return err;
}

static rpc_error *kv_echo(void *self, const kv_Item *item, kv_Item *reply)
{
	(void)self;
	return kv_Item_copy(reply, item) ? NULL
	                                 : rpc_error_new("kv: out of memory");
}

static rpc_error *kv_count(void *self, const char *tag, int64_t *reply)
{
	kv_store *s = self;

	*reply = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->items[i].n_Tags; j++)
			if (strcmp(s->items[i].Tags[j], tag) == 0) {
				(*reply)++;
				break;
			}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static rpc_error *kv_keys(void *self, int64_t limit, kv_StringList *reply)
{
	kv_store *s = self;
	rpc_error *err = NULL;

	pthread_mutex_lock(&s->mu);
	size_t n = s->n;
	if (n > 0 && (reply->value = calloc(n, sizeof(char *))) == NULL)
		err = rpc_error_new("kv: out of memory");
	for (size_t i = 0; err == NULL && i < n; i++) {
		if ((reply->value[i] = strdup(s->items[i].Key)) == NULL)
			err = rpc_error_new("kv: out of memory");
		else
			reply->n_value++;
	}
	pthread_mutex_unlock(&s->mu);
	if (err == NULL) {
		qsort(reply->value, reply->n_value, sizeof(char *), cmp_str);
		if (limit >= 0 && (uint64_t)limit < reply->n_value) {
			for (size_t i = (size_t)limit; i < reply->n_value; i++)
				free(reply->value[i]);
			reply->n_value = (size_t)limit;
		}
	}
	return err;
}

static rpc_error *kv_fail(void *self, const kv_Item *item, kv_Item *reply)
{
	(void)self;
	(void)item;
	(void)reply;
	return rpc_error_new("kv: failed on purpose");
}

static const kv_KV_handlers kv_handlers = {
    .Put = kv_put,
    .Get = kv_get,
    .Echo = kv_echo,
    .Count = kv_count,
    .Keys = kv_keys,
    .Fail = kv_fail,
};

typedef struct acceptor {
	rpc_server *srv;
	rpc_listener *l;
} acceptor;

static void *accept_main(void *arg)
{
	acceptor *a = arg;
	rpc_error *err = rpc_server_accept(a->srv, a->l);
	if (err) {
		fprintf(stderr, "kv-server: accept: %s\n",
		        rpc_error_message(err));
		rpc_error_free(err);
	}
	return NULL;
}

static int fail(const char *what, rpc_error *err)
{
	fprintf(stderr, "kv-server: %s: %s\n", what, rpc_error_message(err));
	rpc_error_free(err);
	return 1;
}

int main(int argc, char **argv)
{
	const char *addr = argc > 1 ? argv[1] : "tcp:127.0.0.1:0";
	kv_store store = {.mu = PTHREAD_MUTEX_INITIALIZER};
	rpc_error *err;

	/* only sigwait below takes the stop signals */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	rpc_server_options opts = {.codec = &msgpack_codec, .threads = 2};
	rpc_server *srv = NULL;
	if ((err = rpc_server_new(&opts, &srv)))
		return fail("server", err);
	if ((err = kv_KV_register(srv, &kv_handlers, &store)))
		return fail("register", err);
	acceptor acc = {.srv = srv};
	if ((err = rpc_listen(addr, &acc.l)))
		return fail(addr, err);
	printf("listening %s\n", rpc_listener_address(acc.l));
	fflush(stdout);

	pthread_t t;
	pthread_create(&t, NULL, accept_main, &acc);
	int sig = 0;
	sigwait(&stop, &sig);
	rpc_listener_close(acc.l);
	pthread_join(t, NULL);
	rpc_listener_free(acc.l);
	rpc_server_free(srv); /* the handlers are done with the store now */
	for (size_t i = 0; i < store.n; i++)
		kv_Item_free_contents(&store.items[i]);
	free(store.items);
	printf("kv-server: stopped\n");
	return 0;
}

/* test_msgpack.c - the example MessagePack-RPC codec (examples/msgpack):
 * its ops table alone (split and byte-at-a-time input, max_frame, bad
 * envelopes), our client and server talking it over loopback (every field
 * kind, errors, unknown methods, builtin arguments and replies), and
 * hostile peers written byte by byte, each of which ends or answers only
 * its own connection.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <msgpack.h>

#include "kv.rpc.h"
#include "msgpack_codec.h"
#include "shapes.rpc.h"
#include "sup_server.h"

/* ---- the service --------------------------------------------------------- */

static rpc_error *h_put(void *self, const kv_Item *item, kv_Stored *reply)
{
	(void)self;
	reply->Size = (int64_t)item->n_Tags;
	reply->Key = strdup(item->Key);
	return reply->Key ? NULL : rpc_error_new("nomem");
}

static rpc_error *h_get(void *self, const char *key, kv_Item *reply)
{
	(void)self;
	if (strcmp(key, "x") != 0)
		return rpc_error_new("kv: no such key");
	reply->Key = strdup("x");
	return NULL;
}

static rpc_error *h_echo(void *self, const kv_Item *item, kv_Item *reply)
{
	(void)self;
	return kv_Item_copy(reply, item) ? NULL : rpc_error_new("nomem");
}

/* Count answers the tag's length, so a test can check both sides. */
static rpc_error *h_count(void *self, const char *tag, int64_t *reply)
{
	(void)self;
	*reply = (int64_t)strlen(tag);
	return NULL;
}

/* Keys answers "k0".."k<limit-1>". */
static rpc_error *h_keys(void *self, int64_t limit, kv_StringList *reply)
{
	(void)self;
	if (limit < 0 || limit > 1000)
		return rpc_error_new("kv: limit out of range");
	if (limit == 0)
		return NULL;
	reply->value = calloc((size_t)limit, sizeof(char *));
	for (int64_t i = 0; reply->value && i < limit; i++) {
		char k[32];
		snprintf(k, sizeof k, "k%lld", (long long)i);
		reply->value[i] = strdup(k);
		reply->n_value++;
	}
	return NULL;
}

static rpc_error *h_fail(void *self, const kv_Item *item, kv_Item *reply)
{
	(void)self;
	(void)item;
	(void)reply;
	return rpc_error_new("kv: failed on purpose");
}

static const kv_KV_handlers handlers = {
    .Put = h_put,
    .Get = h_get,
    .Echo = h_echo,
    .Count = h_count,
    .Keys = h_keys,
    .Fail = h_fail,
};

/* Shapes (shapes.rpc): arrays and a oneof */
static rpc_error *h_shape_echo(void *self, const mt_Shape *s, mt_Shape *r)
{
	(void)self;
	return mt_Shape_copy(r, s) ? NULL : rpc_error_new("out of memory");
}

static rpc_error *h_shape_pair(void *self, int64_t n, mt_Int64Array2 *r)
{
	(void)self;
	r->value[0] = n;
	r->value[1] = -n;
	return NULL;
}

static const mt_Shapes_handlers shape_handlers = {
    .Echo = h_shape_echo,
    .Pair = h_shape_pair,
};

/* ---- fixture: a server on port 0 and a client -----------------------------
 */

static rpc_server *srv;
static sup_server ss;
static rpc_client *cli;

static void setup(void)
{
	rpc_server_options so = {
	    .codec = &msgpack_codec, .threads = 1, .max_frame = 1 << 16};
	ck_assert_ptr_null(rpc_server_new(&so, &srv));
	ck_assert_ptr_null(kv_KV_register(srv, &handlers, NULL));
	ck_assert_ptr_null(mt_Shapes_register(srv, &shape_handlers, NULL));
	ck_assert_ptr_null(
	    sup_server_start(&ss, srv, "tcp:127.0.0.1:0", false));
	rpc_client_options co = {.codec = &msgpack_codec,
	                         .call_timeout_ms = 10000};
	ck_assert_ptr_null(rpc_dial(rpc_listener_address(ss.lis), &co, &cli));
}

static void teardown(void)
{
	rpc_client_free(cli);
	cli = NULL;
	ck_assert_ptr_null(sup_server_stop(&ss));
	rpc_server_free(srv);
	srv = NULL;
}

/* ---- the codec's ops alone ---------------------------------------------- */

static int pack_buf(void *data, const char *p, size_t n)
{
	return msgpack_sbuffer_write(data, p, n);
}

/* a request [0, seq, method, [tag]] for KV.Count, by msgpack-c */
static void pack_count(msgpack_sbuffer *sb, uint64_t seq, const char *tag)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, pack_buf);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, seq);
	msgpack_pack_str_with_body(&pk, "KV.Count", 8);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str_with_body(&pk, tag, strlen(tag));
}

static const rpc_method *method(const char *name)
{
	for (size_t i = 0; i < kv_KV_service.n_methods; i++)
		if (strcmp(kv_KV_service.methods[i].name, name) == 0)
			return &kv_KV_service.methods[i];
	ck_abort_msg("no method %s", name);
	return NULL;
}

START_TEST(test_msgpack_split_input)
{
	/* every prefix is AGAIN; the whole is OK; fed a byte at a time
	 * (the resumable scan) the same */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	char tag[300];
	memset(tag, 't', sizeof tag - 1);
	tag[sizeof tag - 1] = '\0';
	pack_count(&sb, 42, tag);
	pack_count(&sb, 43, "second");
	size_t first = 0;
	void *st = NULL;
	ck_assert_ptr_null(msgpack_codec.state_new(true, 1 << 16, &st));
	for (size_t n = 0; n < sb.size; n++) {
		rpc_codec_msg m = {0};
		rpc_error *err = NULL;
		size_t used = 0;
		rpc_read_status r = msgpack_codec.read(
		    st, (const uint8_t *)sb.data, n, &used, &m, &err);
		if (r == RPC_READ_AGAIN)
			continue;
		ck_assert_int_eq(r, RPC_READ_OK);
		ck_assert_uint_eq(m.seq, 42);
		ck_assert_str_eq(m.service_method, "KV.Count");
		/* the value, decoded */
		kv_StringValue v;
		kv_StringValue_init(&v);
		ck_assert_ptr_null(msgpack_codec.read_body(
		    st, &m, method("Count")->args, &v.base));
		ck_assert_str_eq(v.value, tag);
		rpc_message_free_contents(&v.base);
		msgpack_codec.msg_clear(st, &m);
		first = used;
		break;
	}
	ck_assert_uint_gt(first, 300);
	/* the second message, whole, right after */
	rpc_codec_msg m = {0};
	rpc_error *err = NULL;
	size_t used = 0;
	ck_assert_int_eq(msgpack_codec.read(st,
	                                    (const uint8_t *)sb.data + first,
	                                    sb.size - first, &used, &m, &err),
	                 RPC_READ_OK);
	ck_assert_uint_eq(used, sb.size - first);
	ck_assert_uint_eq(m.seq, 43);
	msgpack_codec.msg_clear(st, &m);
	msgpack_codec.state_free(st);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* read's verdict on in[0..n) for a fresh server-side state */
static rpc_read_status read_once(const void *in, size_t n, size_t max_frame,
                                 char *why, size_t whylen)
{
	void *st = NULL;
	rpc_codec_msg m = {0};
	rpc_error *err = NULL;
	size_t used = 0;
	ck_assert_ptr_null(msgpack_codec.state_new(true, max_frame, &st));
	rpc_read_status r = msgpack_codec.read(st, in, n, &used, &m, &err);
	if (why != NULL)
		snprintf(why, whylen, "%s", err ? rpc_error_message(err) : "");
	if (r == RPC_READ_OK)
		msgpack_codec.msg_clear(st, &m);
	if (r == RPC_READ_ERROR)
		ck_assert_ptr_nonnull(err);
	rpc_error_free(err);
	msgpack_codec.state_free(st);
	return r;
}

START_TEST(test_msgpack_bounds)
{
	char why[200];
	/* a str32 announcing 4 GiB: refused at once, before it arrives */
	static const uint8_t huge_str[] = {0x94, 0x00, 0x01, 0xdb,
	                                   0xff, 0xff, 0xff, 0xf0};
	ck_assert_int_eq(
	    read_once(huge_str, sizeof huge_str, 1 << 16, why, sizeof why),
	    RPC_READ_ERROR);
	ck_assert_msg(strstr(why, "maximum frame size") != NULL, "%s", why);
	/* a bin32 and an array32 the same */
	static const uint8_t huge_bin[] = {0x94, 0x00, 0x01, 0xc6,
	                                   0x7f, 0xff, 0xff, 0xff};
	ck_assert_int_eq(read_once(huge_bin, sizeof huge_bin, 1 << 16, NULL, 0),
	                 RPC_READ_ERROR);
	static const uint8_t huge_arr[] = {0x94, 0x00, 0x01, 0xdd,
	                                   0x7f, 0xff, 0xff, 0xff};
	ck_assert_int_eq(read_once(huge_arr, sizeof huge_arr, 1 << 16, NULL, 0),
	                 RPC_READ_ERROR);
	/* a whole valid message longer than max_frame */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	pack_count(&sb, 1, "a tag of some length, longer than 32 bytes");
	ck_assert_int_eq(read_once(sb.data, sb.size, 32, NULL, 0),
	                 RPC_READ_ERROR);
	ck_assert_int_eq(read_once(sb.data, sb.size, sb.size, NULL, 0),
	                 RPC_READ_OK);
	/* and its prefix that already passes 32 bytes */
	ck_assert_int_eq(read_once(sb.data, 40, 32, NULL, 0), RPC_READ_ERROR);
	msgpack_sbuffer_destroy(&sb);
	/* garbage: not an array */
	ck_assert_int_eq(
	    read_once("GET / HTTP/1.0\r\n", 16, 1 << 16, why, sizeof why),
	    RPC_READ_ERROR);
	ck_assert_msg(strstr(why, "0x47") != NULL, "%s", why);
	/* the same after a read of nothing on that state */
	{
		void *st = NULL;
		rpc_codec_msg m = {0};
		rpc_error *err = NULL;
		size_t used = 0;
		ck_assert_ptr_null(msgpack_codec.state_new(true, 1 << 16, &st));
		ck_assert_int_eq(msgpack_codec.read(st, (const uint8_t *)"", 0,
		                                    &used, &m, &err),
		                 RPC_READ_AGAIN);
		ck_assert_int_eq(msgpack_codec.read(st, (const uint8_t *)"GET",
		                                    3, &used, &m, &err),
		                 RPC_READ_ERROR);
		ck_assert_msg(strstr(rpc_error_message(err), "0x47") != NULL,
		              "%s", rpc_error_message(err));
		rpc_error_free(err);
		msgpack_codec.state_free(st);
	}
	/* 0xc1 inside */
	static const uint8_t never[] = {0x94, 0x00, 0x01, 0xc1, 0x90};
	ck_assert_int_eq(read_once(never, sizeof never, 1 << 16, NULL, 0),
	                 RPC_READ_ERROR);
	/* an array of 3 that is not a notification, of 5, a response */
	static const uint8_t three[] = {0x93, 0x00, 0x01, 0xa0};
	ck_assert_int_eq(read_once(three, sizeof three, 1 << 16, NULL, 0),
	                 RPC_READ_ERROR);
	static const uint8_t resp[] = {0x94, 0x01, 0x01, 0xc0, 0xc0};
	ck_assert_int_eq(read_once(resp, sizeof resp, 1 << 16, why, sizeof why),
	                 RPC_READ_ERROR);
	ck_assert_str_eq(why, "msgpack: want a request (type 0)");
	static const uint8_t notify[] = {0x93, 0x02, 0xa1, 'x', 0x90};
	ck_assert_int_eq(
	    read_once(notify, sizeof notify, 1 << 16, why, sizeof why),
	    RPC_READ_ERROR);
	ck_assert_msg(strstr(why, "notifications") != NULL, "%s", why);
	/* a negative msgid, a method that is not a string */
	static const uint8_t negid[] = {0x94, 0x00, 0xff, 0xa0, 0x90};
	ck_assert_int_eq(read_once(negid, sizeof negid, 1 << 16, NULL, 0),
	                 RPC_READ_ERROR);
	static const uint8_t intmethod[] = {0x94, 0x00, 0x01, 0x05, 0x90};
	ck_assert_int_eq(
	    read_once(intmethod, sizeof intmethod, 1 << 16, NULL, 0),
	    RPC_READ_ERROR);
	/* deep nesting is only counted, never recursed on: the envelope
	 * reads, and the body is a type error */
	uint8_t deep[4 + 200];
	memcpy(deep, "\x94\x00\x01\xa0", 4);
	memset(deep + 4, 0x91, 199);
	deep[203] = 0xc0;
	void *st = NULL;
	rpc_codec_msg m = {0};
	rpc_error *err = NULL;
	size_t used = 0;
	ck_assert_ptr_null(msgpack_codec.state_new(true, 1 << 16, &st));
	ck_assert_int_eq(
	    msgpack_codec.read(st, deep, sizeof deep, &used, &m, &err),
	    RPC_READ_OK);
	kv_StringValue v;
	kv_StringValue_init(&v);
	err = msgpack_codec.read_body(st, &m, method("Count")->args, &v.base);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(rpc_error_message(err),
	                 "msgpack: field \"value\": want string, got array");
	rpc_error_free(err);
	rpc_message_free_contents(&v.base);
	msgpack_codec.msg_clear(st, &m);
	msgpack_codec.state_free(st);
}
END_TEST

/* ---- our client and server ---------------------------------------------- */

START_TEST(test_msgpack_echo_every_kind)
{
	char *tags[] = {"a", "", "ünï"};
	kv_Place p1 = KV_PLACE_INIT, p2 = KV_PLACE_INIT, p3 = KV_PLACE_INIT;
	p1.Shelf = "one";
	p1.Row = -1;
	p2.Row = INT32_MAX;
	p3.Shelf = "three";
	kv_Place *places[] = {&p1, &p2};
	kv_Item_CountsEntry c1 = KV_ITEM_COUNTSENTRY_INIT,
	                    c2 = KV_ITEM_COUNTSENTRY_INIT;
	c1.key = "min";
	c1.value = INT64_MIN;
	c2.key = "";
	c2.value = INT64_MAX;
	kv_Item_CountsEntry *counts[] = {&c1, &c2};
	kv_Item_ByRowEntry r1 = KV_ITEM_BYROWENTRY_INIT,
	                   r2 = KV_ITEM_BYROWENTRY_INIT;
	r1.key = -5;
	r1.value = &p3;
	r2.key = 1LL << 40;
	r2.value = &p1;
	kv_Item_ByRowEntry *byrow[] = {&r1, &r2};
	uint8_t data[300];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)i;

	kv_Item in = KV_ITEM_INIT, out = KV_ITEM_INIT;
	in.Key = "every kind";
	in.Data.data = data;
	in.Data.len = sizeof data;
	in.From = KV_ORIGIN_DERIVED;
	in.Where = &p1;
	in.n_Tags = 3;
	in.Tags = tags;
	in.n_Counts = 2;
	in.Counts = counts;
	in.has_Priority = 1;
	in.Priority = 0; /* set to zero: still present */
	in.Note = "a note";
	in.Pinned = 1;
	in.Version = UINT64_MAX;
	in.Weight = -1.5e300;
	in.Ratio = 0.125f;
	in.Delta = INT64_MIN;
	in.Small = UINT32_MAX;
	in.n_Places = 2;
	in.Places = places;
	in.n_ByRow = 2;
	in.ByRow = byrow;
	ck_assert_ptr_null(kv_KV_Echo(cli, &in, &out));
	ck_assert_msg(kv_Item_equal(&in, &out), "echo differs");
	ck_assert(out.has_Priority);
	ck_assert_int_eq(out.From, KV_ORIGIN_DERIVED);
	ck_assert_uint_eq(out.ByRow[1]->key, 1LL << 40);
	kv_Item_free_contents(&out);

	/* unset optionals and submessage stay unset; empty lists, maps and
	 * bytes stay empty */
	kv_Item bare = KV_ITEM_INIT;
	bare.Key = "bare";
	ck_assert_ptr_null(kv_KV_Echo(cli, &bare, &out));
	ck_assert_msg(kv_Item_equal(&bare, &out), "bare echo differs");
	ck_assert(!out.has_Priority);
	ck_assert_ptr_null(out.Note);
	ck_assert_ptr_null(out.Where);
	ck_assert_uint_eq(out.n_Tags + out.n_Counts + out.Data.len, 0);
	kv_Item_free_contents(&out);
}
END_TEST

START_TEST(test_msgpack_depth)
{
	/* structs in structs: 32 levels decode, 33 are refused (by the
	 * server, on the way in) */
	kv_Item items[33], *parts[33], out = KV_ITEM_INIT;
	for (int i = 0; i < 33; i++) {
		kv_Item_init(&items[i]);
		parts[i] = &items[i];
		if (i > 0) {
			items[i - 1].n_Parts = 1;
			items[i - 1].Parts = &parts[i];
		}
	}
	items[31].n_Parts = 0; /* 32 levels */
	ck_assert_ptr_null(kv_KV_Echo(cli, &items[0], &out));
	ck_assert_msg(kv_Item_equal(&items[0], &out), "deep echo differs");
	kv_Item_free_contents(&out);
	items[31].n_Parts = 1; /* 33 */
	rpc_error *err = kv_KV_Echo(cli, &items[0], &out);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(rpc_error_message(err),
	                 "msgpack: field \"Parts\": structs nested deeper "
	                 "than 32");
	rpc_error_free(err);
	kv_Item_free_contents(&out);
}
END_TEST

START_TEST(test_msgpack_errors_and_values)
{
	kv_Item in = KV_ITEM_INIT, out = KV_ITEM_INIT;
	rpc_error *err = kv_KV_Fail(cli, &in, &out);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_str_eq(rpc_error_message(err), "kv: failed on purpose");
	rpc_error_free(err);

	/* an unknown method: an error reply, and the connection lives */
	int64_t n = 0;
	err = rpc_client_call(cli, "KV.Nope", method("Count"), &(char *){"x"},
	                      &n);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(rpc_error_kind_of(err), RPC_ERR_SERVER);
	ck_assert_msg(strstr(rpc_error_message(err), "KV.Nope") != NULL, "%s",
	              rpc_error_message(err));
	rpc_error_free(err);

	/* builtin argument and reply: a bare string in, a bare int out */
	ck_assert_ptr_null(kv_KV_Count(cli, "four", &n));
	ck_assert_int_eq(n, 4);
	/* a bare int in, a bare list out; an empty one */
	kv_StringList keys = KV_STRINGLIST_INIT;
	ck_assert_ptr_null(kv_KV_Keys(cli, 3, &keys));
	ck_assert_uint_eq(keys.n_value, 3);
	ck_assert_str_eq(keys.value[2], "k2");
	kv_StringList_free_contents(&keys);
	ck_assert_ptr_null(kv_KV_Keys(cli, 0, &keys));
	ck_assert_uint_eq(keys.n_value, 0);
	err = kv_KV_Keys(cli, -1, &keys);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(rpc_error_message(err), "kv: limit out of range");
	rpc_error_free(err);
	ck_assert_ptr_null(kv_KV_Get(cli, "x", &out));
	ck_assert_str_eq(out.Key, "x");
	kv_Item_free_contents(&out);
}
END_TEST

START_TEST(test_msgpack_async_many)
{
	/* many calls in flight at once, answered in any order, matched by
	 * msgid alone */
	enum { N = 64 };
	char tags[N][16];
	int64_t lens[N];
	rpc_done *q = rpc_done_new_queue();
	ck_assert_ptr_nonnull(q);
	for (int i = 0; i < N; i++) {
		snprintf(tags[i], sizeof tags[i], "%.*s", i % 15 + 1,
		         "abcdefghijklmnop");
		ck_assert_ptr_null(
		    kv_KV_Count_go(cli, tags[i], &lens[i], q, NULL));
	}
	for (int done = 0; done < N;) {
		struct pollfd p = {.fd = rpc_done_fd(q), .events = POLLIN};
		ck_assert_int_gt(poll(&p, 1, 10000), 0);
		rpc_call *call;
		while ((call = rpc_done_next(q))) {
			ck_assert_ptr_null(rpc_call_error(call));
			int64_t *len = rpc_call_reply(call);
			ck_assert_int_eq(*len, (len - lens) % 15 + 1);
			rpc_call_free(call);
			done++;
		}
	}
	rpc_done_free(q);
}
END_TEST

/* ---- hostile peers ---------------------------------------------------------
 */

static int raw_dial(void)
{
	const char *a = rpc_listener_address(ss.lis);
	const char *colon = strrchr(a, ':');
	ck_assert_ptr_nonnull(colon);
	struct addrinfo hints = {.ai_family = AF_INET,
	                         .ai_socktype = SOCK_STREAM},
	                *ai;
	ck_assert_int_eq(getaddrinfo("127.0.0.1", colon + 1, &hints, &ai), 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, ai->ai_addr, ai->ai_addrlen), 0);
	freeaddrinfo(ai);
	return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
	ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* raw_reply reads one whole message (5 s at most) into up; false on end
 * of file. */
static bool raw_reply(int fd, msgpack_unpacked *up, char *buf, size_t cap)
{
	size_t len = 0;
	for (int rounds = 0; rounds < 100; rounds++) {
		size_t off = 0;
		if (len > 0 && msgpack_unpack_next(up, buf, len, &off) ==
		                   MSGPACK_UNPACK_SUCCESS)
			return true;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ck_assert_msg(len < cap, "reply longer than %zu bytes", cap);
		ck_assert_msg(poll(&p, 1, 5000) > 0, "no reply in 5 s");
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return false;
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
	}
	ck_abort_msg("no whole reply");
	return false;
}

/* raw_closed tells that the server ends the connection within 5 s
 * without answering. */
static void raw_expect_closed(int fd)
{
	msgpack_unpacked up;
	char buf[4096];
	msgpack_unpacked_init(&up);
	ck_assert_msg(!raw_reply(fd, &up, buf, sizeof buf),
	              "answered instead of closing");
	msgpack_unpacked_destroy(&up);
	close(fd);
}

/* the client still works: one other connection is untouched */
static void still_serving(void)
{
	int64_t n = 0;
	ck_assert_ptr_null(kv_KV_Count(cli, "alive", &n));
	ck_assert_int_eq(n, 5);
}

START_TEST(test_msgpack_hostile_closed)
{
	int fd = raw_dial();
	raw_send(fd, "hello, world\n", 13);
	raw_expect_closed(fd);
	still_serving();

	/* a str announcing 4 GiB: closed at once, nothing more sent */
	fd = raw_dial();
	raw_send(fd, "\x94\x00\x01\xdb\xff\xff\xff\xf0", 8);
	raw_expect_closed(fd);

	/* a truncated request, then the peer's end of file */
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	pack_count(&sb, 9, "truncated");
	fd = raw_dial();
	raw_send(fd, sb.data, sb.size - 3);
	shutdown(fd, SHUT_WR);
	raw_expect_closed(fd);
	msgpack_sbuffer_destroy(&sb);

	/* a response sent to the server; a notification */
	fd = raw_dial();
	raw_send(fd, "\x94\x01\x01\xc0\xc0", 5);
	raw_expect_closed(fd);
	fd = raw_dial();
	raw_send(fd, "\x93\x02\xa1x\x90", 5);
	raw_expect_closed(fd);
	still_serving();
}
END_TEST

/* raw_call sends the message that pk built and returns the reply's error
 * text ("" when nil) in why; the reply's result in *res of up. */
static void raw_call(int fd, msgpack_sbuffer *sb, uint64_t seq, char *why,
                     size_t whylen)
{
	msgpack_unpacked up;
	static char buf[1 << 16];
	raw_send(fd, sb->data, sb->size);
	msgpack_sbuffer_clear(sb);
	msgpack_unpacked_init(&up);
	ck_assert_msg(raw_reply(fd, &up, buf, sizeof buf), "closed");
	msgpack_object *a = up.data.via.array.ptr;
	ck_assert_int_eq(up.data.type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(up.data.via.array.size, 4);
	ck_assert_uint_eq(a[0].via.u64, 1);
	ck_assert_uint_eq(a[1].via.u64, seq);
	if (a[2].type == MSGPACK_OBJECT_STR) {
		snprintf(why, whylen, "%.*s", (int)a[2].via.str.size,
		         a[2].via.str.ptr);
		ck_assert_int_eq(a[3].type, MSGPACK_OBJECT_NIL);
	} else {
		ck_assert_int_eq(a[2].type, MSGPACK_OBJECT_NIL);
		why[0] = '\0';
	}
	msgpack_unpacked_destroy(&up);
}

/* pack_echo starts [0, seq, "KV.Echo", [{key: ...}]]; the caller packs
 * the one value. */
static void pack_echo(msgpack_packer *pk, uint64_t seq, const char *key)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_int(pk, 0);
	msgpack_pack_uint64(pk, seq);
	msgpack_pack_str_with_body(pk, "KV.Echo", 7);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	msgpack_pack_str_with_body(pk, key, strlen(key));
}

/* arrays and oneofs through the codec: every member kind and none, arrays
 * of numbers, strings and structs, an array reply; a wrong count from the
 * wire is refused with the field's name and the connection serves on */
START_TEST(test_msgpack_arrays_oneof)
{
	mt_Point a = MT_POINT_INIT, b = MT_POINT_INIT, c = MT_POINT_INIT;
	mt_Shape in = MT_SHAPE_INIT, out = MT_SHAPE_INIT;
	mt_Int64Array2 pair = MT_INT64ARRAY2_INIT;

	a.X = 1;
	a.Y = -2;
	b.X = INT32_MAX;
	c.Y = 7;
	in.Name = "shape";
	in.Pair[0] = INT64_MIN;
	in.Pair[1] = INT64_MAX;
	in.Names[0] = "first";
	in.Names[1] = "";
	in.Corners[0] = &a;
	in.Corners[1] = &b;
	for (int k = 0; k < 4; k++) {
		in.kind_case = k == 0   ? MT_SHAPE_KIND__NOT_SET
		               : k == 1 ? MT_SHAPE_KIND_RADIUS
		               : k == 2 ? MT_SHAPE_KIND_LABEL
		                        : MT_SHAPE_KIND_CENTER;
		if (k == 1)
			in.Radius = -3;
		else if (k == 2)
			in.Label = "label";
		else if (k == 3)
			in.Center = &c;
		ck_assert_ptr_null(mt_Shapes_Echo(cli, &in, &out));
		ck_assert_msg(mt_Shape_equal(&in, &out), "echo %d differs", k);
		ck_assert_int_eq(out.kind_case, in.kind_case);
		ck_assert_str_eq(out.Names[0], "first");
		ck_assert_int_eq(out.Corners[1]->X, INT32_MAX);
		mt_Shape_free_contents(&out);
	}

	ck_assert_ptr_null(mt_Shapes_Pair(cli, 41, &pair));
	ck_assert_int_eq(pair.value[0], 41);
	ck_assert_int_eq(pair.value[1], -41);
	mt_Int64Array2_free_contents(&pair);

	/* [0, 9, "Shapes.Echo", [{"Pair": [1, 2, 3]}]] by msgpack-c:
	 * answered with the error, and the connection serves on */
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char why[256];
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, pack_buf);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, 9);
	msgpack_pack_str_with_body(&pk, "Shapes.Echo", 11);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "Pair", 4);
	msgpack_pack_array(&pk, 3);
	for (int i = 1; i <= 3; i++)
		msgpack_pack_int(&pk, i);
	int fd = raw_dial();
	raw_call(fd, &sb, 9, why, sizeof why);
	ck_assert_str_eq(why, "rpc: field Shape.Pair has 3 elements; its "
	                      "array type has 2");
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, 10);
	msgpack_pack_str_with_body(&pk, "Shapes.Pair", 11);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 3);
	raw_call(fd, &sb, 10, why, sizeof why);
	ck_assert_str_eq(why, "");
	close(fd);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_msgpack_hostile_answered)
{
	/* bad bodies are answered with an error; the connection lives */
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char why[300];
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, pack_buf);
	int fd = raw_dial();

	pack_echo(&pk, 1, "Tags");
	msgpack_pack_str_with_body(&pk, "not a list", 10);
	raw_call(fd, &sb, 1, why, sizeof why);
	ck_assert_str_eq(why,
	                 "msgpack: field \"Tags\": want array, got string");

	pack_echo(&pk, 2, "Small");
	msgpack_pack_int(&pk, -1);
	raw_call(fd, &sb, 2, why, sizeof why);
	ck_assert_str_eq(why, "msgpack: field \"Small\": -1 out of range");

	pack_echo(&pk, 3, "Data");
	msgpack_pack_str_with_body(&pk, "text", 4);
	raw_call(fd, &sb, 3, why, sizeof why);
	ck_assert_str_eq(why,
	                 "msgpack: field \"Data\": want binary, got string");

	pack_echo(&pk, 4, "Where");
	msgpack_pack_array(&pk, 0);
	raw_call(fd, &sb, 4, why, sizeof why);
	ck_assert_str_eq(why, "msgpack: field \"Where\": want map, got array");

	pack_echo(&pk, 5, "Counts");
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "k", 1);
	msgpack_pack_true(&pk);
	raw_call(fd, &sb, 5, why, sizeof why);
	ck_assert_str_eq(why,
	                 "msgpack: field \"value\": want integer, got bool");

	/* a bad field inside a struct inside a list: what was decoded is
	 * freed (the sanitizers and valgrind watch) */
	pack_echo(&pk, 60, "Places");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "Shelf", 5);
	msgpack_pack_str_with_body(&pk, "ok", 2);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "Shelf", 5);
	msgpack_pack_str_with_body(&pk, "kept", 4);
	msgpack_pack_str_with_body(&pk, "Row", 3);
	msgpack_pack_str_with_body(&pk, "x", 1);
	raw_call(fd, &sb, 60, why, sizeof why);
	ck_assert_str_eq(why,
	                 "msgpack: field \"Row\": want integer, got string");

	pack_echo(&pk, 6, "Note");
	msgpack_pack_str_with_body(&pk, "a\0b", 3);
	raw_call(fd, &sb, 6, why, sizeof why);
	ck_assert_msg(strstr(why, "NUL") != NULL, "%s", why);

	/* a key given twice */
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, 7);
	msgpack_pack_str_with_body(&pk, "KV.Echo", 7);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	for (int i = 0; i < 2; i++) {
		msgpack_pack_str_with_body(&pk, "Tags", 4);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_str_with_body(&pk, "t", 1);
	}
	raw_call(fd, &sb, 7, why, sizeof why);
	ck_assert_str_eq(why, "msgpack: field \"Tags\" appears twice");

	/* params of two values; params not an array; a bare value of the
	 * wrong type */
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, 8);
	msgpack_pack_str_with_body(&pk, "KV.Count", 8);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_nil(&pk);
	raw_call(fd, &sb, 8, why, sizeof why);
	ck_assert_str_eq(why, "msgpack: params holds 2 values, want 1");
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, 9);
	msgpack_pack_str_with_body(&pk, "KV.Count", 8);
	msgpack_pack_map(&pk, 0);
	raw_call(fd, &sb, 9, why, sizeof why);
	ck_assert_str_eq(why, "msgpack: params: want array, got map");
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, 10);
	msgpack_pack_str_with_body(&pk, "KV.Count", 8);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 12);
	raw_call(fd, &sb, 10, why, sizeof why);
	ck_assert_str_eq(why, "msgpack: field \"value\": want string, got "
	                      "integer");

	/* an unknown method, and then a good call on the same connection */
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 0);
	msgpack_pack_uint64(&pk, 11);
	msgpack_pack_str_with_body(&pk, "Nope.Nope", 9);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	raw_call(fd, &sb, 11, why, sizeof why);
	ck_assert_msg(strstr(why, "Nope") != NULL, "%s", why);
	pack_count(&sb, 12, "fine");
	raw_call(fd, &sb, 12, why, sizeof why);
	ck_assert_str_eq(why, "");

	close(fd);
	msgpack_sbuffer_destroy(&sb);
	still_serving();
}
END_TEST

/* A server that answers anything with a bad reply: the client's call
 * fails with an error, the process lives. */
START_TEST(test_msgpack_hostile_server)
{
	static const struct {
		const char *bytes;
		size_t n;
		const char *want; /* in the error text */
	} cases[] = {
	    /* [1, 0, nil, "a string"] for a struct reply */
	    {"\x94\x01\x00\xc0\xa1s", 6, "want map, got string"},
	    /* [1, 0, [1, "x"], nil]: an error of another type */
	    {"\x94\x01\x00\x92\x01\xa1x\xc0", 8, "error is an array"},
	    /* garbage */
	    {"\xc1\xc1\xc1\xc1", 4, ""},
	    /* a request instead of a reply */
	    {"\x94\x00\x00\xa0\x90", 5, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int lfd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_addr.s_addr = htonl(0x7f000001)};
		socklen_t sl = sizeof sa;
		ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa),
		                 0);
		ck_assert_int_eq(listen(lfd, 1), 0);
		ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl),
		                 0);
		char addr[64];
		snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d",
		         ntohs(sa.sin_port));
		rpc_client_options co = {.codec = &msgpack_codec,
		                         .call_timeout_ms = 10000};
		rpc_client *c = NULL;
		ck_assert_ptr_null(rpc_dial(addr, &co, &c));
		int fd = accept(lfd, NULL, NULL);
		ck_assert_int_ge(fd, 0);
		kv_Item in = KV_ITEM_INIT, out = KV_ITEM_INIT;
		rpc_call *call = NULL;
		rpc_error *gerr =
		    kv_KV_Echo_go_opts(c, NULL, &in, &out, NULL, &call);
		ck_assert_msg(gerr == NULL, "case %zu: %s", i,
		              rpc_error_message(gerr));
		char buf[256];
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ck_assert_int_gt(poll(&p, 1, 5000), 0);
		ck_assert_int_gt(recv(fd, buf, sizeof buf, 0), 0);
		raw_send(fd, cases[i].bytes, cases[i].n);
		ck_assert(rpc_call_wait(call, 10000));
		const rpc_error *err = rpc_call_error(call);
		ck_assert_ptr_nonnull(err);
		ck_assert_msg(strstr(rpc_error_message(err), cases[i].want),
		              "case %zu: %s", i, rpc_error_message(err));
		rpc_call_free(call);
		kv_Item_free_contents(&out);
		close(fd);
		rpc_client_free(c);
		close(lfd);
	}
}
END_TEST

static Suite *msgpack_suite(void)
{
	Suite *s = suite_create("msgpack");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_msgpack_split_input);
	tcase_add_test(tc, test_msgpack_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("calls");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_msgpack_echo_every_kind);
	tcase_add_test(tc, test_msgpack_arrays_oneof);
	tcase_add_test(tc, test_msgpack_errors_and_values);
	tcase_add_test(tc, test_msgpack_depth);
	tcase_add_test(tc, test_msgpack_async_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_msgpack_hostile_closed);
	tcase_add_test(tc, test_msgpack_hostile_answered);
	tcase_add_test(tc, test_msgpack_hostile_server);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msgpack_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* client.c - the KV client over MessagePack-RPC: stores an item with
 * every kind of field, reads it back, counts, lists the keys and shows a
 * server error.
 *
 *   kv-client RPC_ADDRESS
 */
#include <stdio.h>
#include <string.h>

#include "kv.rpc.h"
#include "msgpack_codec.h"

static int fail(const char *what, rpc_error *err)
{
	fprintf(stderr, "kv-client: %s: %s\n", what, rpc_error_message(err));
	rpc_error_free(err);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: kv-client RPC_ADDRESS\n");
		return 2;
	}
	rpc_client_options opts = {.codec = &msgpack_codec};
	rpc_client *c = NULL;
	rpc_error *err = rpc_dial(argv[1], &opts, &c);
	if (err)
		return fail(argv[1], err);

	/* An item using every kind of field; its strings and lists point at
	 * this function's storage (the stub only reads them). */
	char *tags[] = {"fruit", "red"};
	kv_Place shelf_a, shelf_b;
	kv_Place_init(&shelf_a);
	kv_Place_init(&shelf_b);
	shelf_a.Shelf = "A";
	shelf_a.Row = 3;
	shelf_b.Shelf = "B";
	shelf_b.Row = 7;
	kv_Place *places[] = {&shelf_a, &shelf_b};
	kv_Item_CountsEntry sold, kept;
	kv_Item_CountsEntry_init(&sold);
	kv_Item_CountsEntry_init(&kept);
	sold.key = "sold";
	sold.value = 12;
	kept.key = "kept";
	kept.value = -2;
	kv_Item_CountsEntry *counts[] = {&sold, &kept};
	kv_Item item;
	kv_Item_init(&item);
	item.Key = "apple";
	item.Data.data = (uint8_t *)"\x00\x01\xff";
	item.Data.len = 3;
	item.From = KV_ORIGIN_IMPORT;
	item.Where = &shelf_a;
	item.n_Tags = 2;
	item.Tags = tags;
	item.n_Counts = 2;
	item.Counts = counts;
	item.has_Priority = 1;
	item.Priority = 5;
	item.Weight = 0.25;
	item.n_Places = 2;
	item.Places = places;

	kv_Stored stored;
	kv_Stored_init(&stored);
	if ((err = kv_KV_Put(c, &item, &stored)))
		return fail("KV.Put", err);
	printf("KV.Put(%s): the store holds %lld item(s)\n", stored.Key,
	       (long long)stored.Size);
	kv_Stored_free_contents(&stored);

	kv_Item got;
	kv_Item_init(&got);
	if ((err = kv_KV_Get(c, "apple", &got)))
		return fail("KV.Get", err);
	printf("KV.Get(apple): %zu bytes, %zu tags, priority %s%d, shelf %s, "
	       "same as sent: %s\n",
	       got.Data.len, got.n_Tags, got.has_Priority ? "" : "unset ",
	       got.Priority, got.Where ? got.Where->Shelf : "none",
	       kv_Item_equal(&got, &item) ? "yes" : "no");
	kv_Item_free_contents(&got);

	int64_t n = 0;
	if ((err = kv_KV_Count(c, "fruit", &n)))
		return fail("KV.Count", err);
	printf("KV.Count(fruit) = %lld\n", (long long)n);

	kv_StringList keys;
	kv_StringList_init(&keys);
	if ((err = kv_KV_Keys(c, 10, &keys)))
		return fail("KV.Keys", err);
	printf("KV.Keys(10) = [");
	for (size_t i = 0; i < keys.n_value; i++)
		printf("%s%s", i ? ", " : "", keys.value[i]);
	printf("]\n");
	kv_StringList_free_contents(&keys);

	kv_Item_init(&got);
	err = kv_KV_Get(c, "pear", &got);
	printf("KV.Get(pear) failed: %s\n",
	       err ? rpc_error_message(err) : "(no error!)");
	rpc_error_free(err);
	kv_Item_free_contents(&got);

	rpc_client_free(c);
	return 0;
}

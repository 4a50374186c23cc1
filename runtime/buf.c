/* buf.c - the growable output buffer codecs encode into (rpc_buf,
 * rpc_codec.h), and the check every codec given to librpc passes.
 *
 * Capacity grows by doubling so appending n bytes one message at a time
 * costs amortised O(n); a reservation larger than that gets exactly what
 * it asks for, so a large message encoded into a buffer sized for it is
 * neither copied again nor given twice its room. A buffer that failed to
 * grow keeps its contents. From RPCI_BIG bytes of capacity on, the data is
 * a big block (big.c): growing across the threshold moves the bytes used
 * once, and rpc_buf_fini unmaps it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"

bool rpci_buf_reserve(rpci_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *data;

	if (n > SIZE_MAX - b->len)
		return false;
	need = b->len + n;
	if (need <= b->cap)
		return true;
	cap = b->cap < 256 ? 256 : b->cap;
	cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap < need)
		cap = need;
	data = rpci_big_realloc(b->data, b->len, cap);
	if (data == NULL)
		return false;
	b->data = data;
	b->cap = cap;
	return true;
}

bool rpci_buf_append(rpci_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return true;
	if (!rpci_buf_reserve(b, n))
		return false;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

void rpci_buf_fini(rpci_buf *b)
{
	if (b == NULL)
		return;
	rpci_big_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

rpc_error *rpci_codec_check(const rpc_codec *codec)
{
	if (codec->abi != RPC_CODEC_ABI)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: codec %s was built for codec ABI %u, "
		                  "this librpc has %d",
		                  codec->name != NULL ? codec->name
		                                      : "(unnamed)",
		                  (unsigned)codec->abi, RPC_CODEC_ABI);
	if (codec->state_new == NULL || codec->state_free == NULL ||
	    codec->read == NULL || codec->read_body == NULL ||
	    codec->msg_clear == NULL || codec->write == NULL)
		return rpci_error(RPC_ERR_INVALID,
		                  "rpc: codec %s lacks an operation (only need "
		                  "may be NULL)",
		                  codec->name != NULL ? codec->name
		                                      : "(unnamed)");
	return NULL;
}

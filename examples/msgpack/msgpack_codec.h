/* msgpack_codec.h - MessagePack-RPC as an rpcgen-c codec, written only
 * against the public interface (rpc.h, rpc_codec.h) and msgpack-c; the
 * walk-through is docs/codecs.md.
 *
 * Give &msgpack_codec to rpc_server_options.codec, rpc_server_serve_codec
 * or rpc_client_options.codec. The wire is the MessagePack-RPC spec:
 *
 *   request   [0, msgid, "Service.Method", [argument]]
 *   response  [1, msgid, nil, result]      or  [1, msgid, "error text", nil]
 *
 * msgid is the call's sequence number. A struct travels as a map keyed by
 * field name; a builtin argument or reply (int64, string, list<T>,
 * map<K, V>, ...) travels as the bare value, so a client in any language
 * passes plain values: [0, 1, "KV.Count", ["fruit"]]. Notifications
 * (type 2) are refused: net/rpc has no call without a reply.
 *
 * The codec keeps no memory between calls beyond one connection's state
 * (state_new / state_free); what it allocates while decoding belongs to
 * the message it decodes into, as rpc_codec.h says.
 */
#ifndef MSGPACK_CODEC_H
#define MSGPACK_CODEC_H

#include "rpc_codec.h" /* librpc: -I.../include/librpc */

/* msgpack_codec is the codec: a const table, valid for the program's
 * life. */
extern const rpc_codec msgpack_codec;

#endif

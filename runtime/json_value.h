/* json_value.h - one JSON value to and from a message, outside any RPC
 * message (private to librpc and rpc-call).
 *
 * The JSON codec's own walkers, for a tool that takes a message as text:
 * the same keys, number rules and base64 as the jsonrpc wire, so a value
 * reads and prints exactly as Go's encoding/json would for the equivalent
 * Go struct. Implemented at the end of codec_json.c.
 */
#ifndef RPCI_JSON_VALUE_H
#define RPCI_JSON_VALUE_H

#include "codec.h"

/* RPCI_JSON_KNOWN_KEYS makes a key that names no field an error (the wire,
 * as Go, ignores it). */
#define RPCI_JSON_KNOWN_KEYS 1u

/* rpci_json_decode_value parses json[0..len) (one JSON value, white space
 * around it allowed) as a value of type t into dst, an initialised message
 * of t->desc (for RPC_FORM_VALUE and RPC_FORM_WRAPPED the value is field 1
 * bare, as the jsonrpc wire sends it). json is borrowed for the duration
 * of the call. flags: 0 or RPCI_JSON_KNOWN_KEYS. An error names the path
 * of the bad value with list indices and map keys ("Points[3].X: want
 * int64, got \"x\""). Returns NULL, or an error (caller frees) after
 * freeing what it decoded into dst. What decoding allocates in dst is
 * freed with rpc_message_free_contents. */
rpc_error *rpci_json_decode_value(const rpc_type *t, const uint8_t *json,
                                  size_t len, unsigned flags,
                                  ProtobufCMessage *dst);

/* rpci_json_encode_value appends msg, a message of t->desc, to out as the
 * jsonrpc wire writes a params element or a result (no newline). msg is
 * borrowed for the duration of the call. Returns NULL or an error (caller
 * frees); on error out is as it was. */
rpc_error *rpci_json_encode_value(const rpc_type *t,
                                  const ProtobufCMessage *msg, rpci_buf *out);

#endif

/*
 * The codec: compact, versioned binary encoding of everything the core
 * stores through a provider as opaque bytes -- history events, orchestrator
 * queue messages and activity work items.
 *
 * Wire format of one record:
 *
 *     u8      format version (DURA_CODEC_VERSION)
 *     u8      kind (enum dura_rec_kind)
 *     fields  the kind's fields, in this fixed order, only those the kind
 *             has (see the table in codec.c):
 *               execution  varint
 *               id         varint   scheduled / timer / parent event id
 *               number     varint   timer delay ms / parent execution
 *               category   u8       failure category (enum dura_outcome 1-4)
 *               name       bytes    orchestration or activity name
 *               instance   bytes    parent / child / target instance id
 *               data       bytes    input, result, output or error text
 *
 * varint = unsigned LEB128, at most 10 bytes, no overlong final byte;
 * bytes  = varint length followed by that many bytes.  Names and instance
 * ids are non-empty (names) and never contain NUL, so they can be turned
 * into C strings.  A record must be consumed exactly: trailing bytes are an
 * error.
 *
 * Decoding never allocates: the slices of a decoded record point into the
 * input, which must stay alive as long as they are used.  Every read is
 * bounds-checked; corrupt input yields -1 and a static reason.
 */
#ifndef DURA_CODEC_H
#define DURA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define DURA_CODEC_VERSION 1

/* Highest failure category a record may carry (enum dura_outcome's
 * DURA_OUTCOME_FAILED_CORRUPT; codec.h does not include orchestration.h). */
#define DURA_CODEC_MAX_CATEGORY 4

enum dura_rec_kind {
	/* ---- history events (fields) ---- */
	DURA_EV_EXECUTION_STARTED = 1,   /* name, data=input, instance=parent
	                                    (empty: none), id=parent event id,
	                                    number=parent execution */
	DURA_EV_TASK_SCHEDULED = 2,      /* name, data=input */
	DURA_EV_TASK_COMPLETED = 3,      /* id=scheduled event id, data=result */
	DURA_EV_TASK_FAILED = 4,         /* id, category, data=error */
	DURA_EV_TIMER_CREATED = 5,       /* number=delay ms */
	DURA_EV_TIMER_FIRED = 6,         /* id=timer event id */
	DURA_EV_SUBORCH_SCHEDULED = 7,   /* name, instance=child, data=input */
	DURA_EV_SUBORCH_COMPLETED = 8,   /* id, data=result */
	DURA_EV_SUBORCH_FAILED = 9,      /* id, category, data=error */
	DURA_EV_EXECUTION_COMPLETED = 10,/* data=output */
	DURA_EV_EXECUTION_FAILED = 11,   /* category, data=error */
	DURA_EV_CONTINUED_AS_NEW = 12,   /* data=new input */

	/* ---- orchestrator queue messages ---- */
	DURA_MSG_START = 32,             /* execution (to start), name,
	                                    data=input, instance=parent,
	                                    id=parent event id,
	                                    number=parent execution */
	DURA_MSG_TASK_COMPLETED = 33,    /* execution, id, data=result */
	DURA_MSG_TASK_FAILED = 34,       /* execution, id, category, data */
	DURA_MSG_TIMER_FIRED = 35,       /* execution, id */
	DURA_MSG_SUBORCH_COMPLETED = 36, /* execution (of the parent), id, data */
	DURA_MSG_SUBORCH_FAILED = 37,    /* execution, id, category, data */
	DURA_MSG_CORRUPT_WORK_ITEM = 38, /* data=what could not be decoded: an
	                                    activity worker sends it in place of
	                                    a completion it cannot address, and
	                                    the instance fails as corrupt */

	/* ---- worker queue ---- */
	DURA_WORK_ITEM = 64              /* instance, execution, id=scheduled
	                                    event id, name, data=input */
};

/* A borrowed byte range. */
struct dura_slice {
	const uint8_t *data;
	size_t len;
};

/* One decoded (or to be encoded) record.  Fields a kind does not have are
 * zero after decoding and ignored by the encoder. */
struct dura_rec {
	uint8_t kind;
	uint8_t category;
	uint64_t execution;
	uint64_t id;
	uint64_t number;
	struct dura_slice name;
	struct dura_slice instance;
	struct dura_slice data;
};

/* Appends the encoding of r to out.  r must be valid for its kind (names
 * non-empty, no NUL in names/instances, category 1-4 where present):
 * encoding an invalid record is a programming error and aborts. */
void dura_codec_encode(struct dura_buf *out, const struct dura_rec *r);

/* Exact size dura_codec_encode would append. */
size_t dura_codec_encoded_size(const struct dura_rec *r);

/* Decodes p[0..n) into out (slices borrow p).  Returns 0, or -1 with *why
 * (if why != NULL) set to a static description. */
int dura_codec_decode(const uint8_t *p, size_t n, struct dura_rec *out,
                      const char **why);

/* Kind classes. */
int dura_codec_is_event(int kind);
int dura_codec_is_message(int kind);
/* A readable name for a kind ("TaskScheduled"), "?" if unknown. */
const char *dura_codec_kind_name(int kind);

/* Slice helpers. */
struct dura_slice dura_slice_str(const char *s);     /* NULL -> empty */
int dura_slice_eq_str(struct dura_slice a, const char *s);

#endif

/*
 * Codec tests: round trips of every record kind, then thousands of
 * truncated, random and bit-flipped inputs.  Every corrupt input is decoded
 * from an exactly sized heap copy so the sanitizer build catches any read
 * out of bounds.  A decode that succeeds must re-encode to the very same
 * bytes (the format is canonical), which also proves no field was misread.
 */
#include "config.h"

#include "engine/codec.h"
#include "tap.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

static const int all_kinds[] = {
	DURA_EV_EXECUTION_STARTED, DURA_EV_TASK_SCHEDULED, DURA_EV_TASK_COMPLETED,
	DURA_EV_TASK_FAILED, DURA_EV_TIMER_CREATED, DURA_EV_TIMER_FIRED,
	DURA_EV_SUBORCH_SCHEDULED, DURA_EV_SUBORCH_COMPLETED, DURA_EV_SUBORCH_FAILED,
	DURA_EV_EXECUTION_COMPLETED, DURA_EV_EXECUTION_FAILED, DURA_EV_CONTINUED_AS_NEW,
	DURA_MSG_START, DURA_MSG_TASK_COMPLETED, DURA_MSG_TASK_FAILED,
	DURA_MSG_TIMER_FIRED, DURA_MSG_SUBORCH_COMPLETED, DURA_MSG_SUBORCH_FAILED,
	DURA_WORK_ITEM,
};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

static int slice_eq(struct dura_slice a, struct dura_slice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* A record of the given kind with every field set (the encoder ignores the
 * ones the kind does not carry). */
static struct dura_rec sample(int kind, uint64_t big, const uint8_t *payload,
                              size_t plen)
{
	struct dura_rec r = { 0 };
	r.kind = (uint8_t)kind;
	r.category = 2;
	r.execution = big;
	r.id = big / 3 + 1;
	r.number = big ^ 0x5555;
	r.name = dura_slice_str("activity.name");
	r.instance = dura_slice_str("inst/42");
	r.data.data = payload;
	r.data.len = plen;
	return r;
}

/* Fields present after decoding must equal the originals; absent ones 0. */
static int same_present_fields(const struct dura_rec *a, const struct dura_rec *d)
{
	if (a->kind != d->kind)
		return 0;
	struct dura_buf b1 = { 0 }, b2 = { 0 };
	dura_codec_encode(&b1, a);
	dura_codec_encode(&b2, d);
	int same = b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0;
	dura_buf_free(&b1);
	dura_buf_free(&b2);
	return same;
}

/* Decodes an exactly sized heap copy; on success checks canonical
 * re-encoding.  Returns 1 if decoded, 0 if rejected, -1 if a decoded record
 * did not re-encode identically. */
static int decode_copy(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (n)
		memcpy(copy, p, n);
	struct dura_rec r;
	const char *why = NULL;
	int rc = dura_codec_decode(n ? copy : NULL, n, &r, &why);
	int out;
	if (rc != 0) {
		out = why && *why ? 0 : -1; /* a rejection must say why */
	} else {
		struct dura_buf b = { 0 };
		dura_codec_encode(&b, &r);
		out = b.len == n && memcmp(b.data, copy, n) == 0 ? 1 : -1;
		dura_buf_free(&b);
	}
	free(copy);
	return out;
}

static void test_round_trips(void)
{
	static const uint64_t bigs[] = { 0, 1, 127, 128, 300, 16384, UINT32_MAX,
	                                 UINT64_MAX / 2, UINT64_MAX };
	uint8_t payload[700];
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7);
	payload[3] = 0; /* data may hold NUL bytes */
	int ok = 1, size_ok = 1;
	for (size_t k = 0; k < N_KINDS; k++) {
		for (size_t b = 0; b < sizeof bigs / sizeof bigs[0]; b++) {
			size_t plens[] = { 0, 1, 127, 128, sizeof payload };
			for (size_t l = 0; l < 5; l++) {
				struct dura_rec r = sample(all_kinds[k], bigs[b], payload, plens[l]);
				struct dura_buf buf = { 0 };
				dura_buf_append(&buf, "xy", 2); /* encode appends */
				dura_codec_encode(&buf, &r);
				if (dura_codec_encoded_size(&r) != buf.len - 2)
					size_ok = 0;
				struct dura_rec d;
				if (dura_codec_decode(buf.data + 2, buf.len - 2, &d, NULL) != 0 ||
				    !same_present_fields(&r, &d))
					ok = 0;
				dura_buf_free(&buf);
			}
		}
	}
	tap_ok(ok, "round trip of all %zu kinds with small and huge values", N_KINDS);
	tap_ok(size_ok, "encoded_size matches the encoding");

	/* Field-level check of two representative kinds. */
	struct dura_rec r = sample(DURA_MSG_TASK_FAILED, 1000000007ull, payload, 10), d;
	struct dura_buf buf = { 0 };
	dura_codec_encode(&buf, &r);
	int rc = dura_codec_decode(buf.data, buf.len, &d, NULL);
	tap_ok(rc == 0 && d.kind == DURA_MSG_TASK_FAILED && d.execution == 1000000007ull &&
	       d.id == r.id && d.category == 2 && slice_eq(d.data, r.data) &&
	       d.name.len == 0 && d.number == 0,
	       "ActivityFailed message keeps execution, id, category, data; absent fields zero");
	tap_ok(buf.data[0] == DURA_CODEC_VERSION && buf.data[1] == DURA_MSG_TASK_FAILED,
	       "version byte then kind byte");
	dura_buf_reset(&buf);
	r = sample(DURA_EV_EXECUTION_STARTED, 5, payload, 0);
	dura_codec_encode(&buf, &r);
	rc = dura_codec_decode(buf.data, buf.len, &d, NULL);
	tap_ok(rc == 0 && dura_slice_eq_str(d.name, "activity.name") &&
	       dura_slice_eq_str(d.instance, "inst/42") && d.id == r.id &&
	       d.number == r.number && d.data.len == 0 && d.execution == 0,
	       "ExecutionStarted keeps name, parent, parent event id and execution");
	tap_ok(dura_codec_is_event(DURA_EV_TIMER_FIRED) && !dura_codec_is_event(DURA_MSG_START) &&
	       dura_codec_is_message(DURA_MSG_TIMER_FIRED) && !dura_codec_is_message(DURA_WORK_ITEM),
	       "kind classes");
	dura_buf_free(&buf);
}

static void test_truncations(void)
{
	uint8_t payload[300];
	memset(payload, 'p', sizeof payload);
	int rejected = 1, n = 0;
	for (size_t k = 0; k < N_KINDS; k++) {
		struct dura_rec r = sample(all_kinds[k], UINT64_MAX - 5, payload, sizeof payload);
		struct dura_buf buf = { 0 };
		dura_codec_encode(&buf, &r);
		for (size_t cut = 0; cut < buf.len; cut++, n++)
			if (decode_copy(buf.data, cut) != 0)
				rejected = 0;
		/* one extra byte is trailing garbage */
		dura_buf_append(&buf, "", 1);
		if (decode_copy(buf.data, buf.len) != 0)
			rejected = 0;
		dura_buf_free(&buf);
	}
	tap_ok(rejected, "all %d truncated prefixes and trailing bytes are rejected", n);
}

static void test_bit_flips(void)
{
	uint8_t payload[40];
	memset(payload, 'q', sizeof payload);
	int bad = 0, n = 0, accepted = 0;
	for (size_t k = 0; k < N_KINDS; k++) {
		struct dura_rec r = sample(all_kinds[k], 123456789, payload, sizeof payload);
		struct dura_buf buf = { 0 };
		dura_codec_encode(&buf, &r);
		for (size_t bit = 0; bit < buf.len * 8; bit++, n++) {
			buf.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			int rc = decode_copy(buf.data, buf.len);
			if (rc < 0)
				bad++;
			accepted += rc == 1;
			buf.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		dura_buf_free(&buf);
	}
	tap_ok(bad == 0, "%d single bit flips: rejected or canonical (%d decoded)", n, accepted);
}

static void test_random(void)
{
	uint8_t in[256];
	int bad = 0, accepted = 0;
	const int rounds = 20000;
	for (int i = 0; i < rounds; i++) {
		size_t n = (size_t)(dura_rand64() % sizeof in);
		for (size_t j = 0; j < n; j++)
			in[j] = (uint8_t)dura_rand64();
		/* Half of the inputs get a valid header so the field decoders are
		 * exercised, not just the version check. */
		if (n >= 2 && (i & 1)) {
			in[0] = DURA_CODEC_VERSION;
			in[1] = (uint8_t)all_kinds[dura_rand64() % N_KINDS];
			/* and small lengths, so some records decode fully */
			for (size_t j = 2; j < n && j < 12; j++)
				in[j] &= 0x0f;
		}
		int rc = decode_copy(in, n);
		if (rc < 0)
			bad++;
		accepted += rc == 1;
	}
	tap_ok(bad == 0, "%d random inputs: rejected or canonical (%d decoded)", rounds, accepted);
}

static void test_specific_rejections(void)
{
	const uint8_t bad_version[] = { 2, DURA_EV_TIMER_FIRED, 1 };
	const uint8_t bad_kind[] = { 1, 200, 1 };
	const uint8_t overflow[] = { 1, DURA_EV_TIMER_FIRED, 0xff, 0xff, 0xff, 0xff, 0xff,
	                             0xff, 0xff, 0xff, 0xff, 0x02 };
	const uint8_t overlong[] = { 1, DURA_EV_TIMER_FIRED, 0x81, 0x00 };
	const uint8_t max64[] = { 1, DURA_EV_TIMER_FIRED, 0xff, 0xff, 0xff, 0xff, 0xff,
	                          0xff, 0xff, 0xff, 0xff, 0x01 };
	const uint8_t huge_len[] = { 1, DURA_EV_EXECUTION_COMPLETED, 0xff, 0xff, 0xff,
	                             0xff, 0x0f, 'a' };
	const uint8_t empty_name[] = { 1, DURA_EV_TASK_SCHEDULED, 0, 0 };
	const uint8_t nul_name[] = { 1, DURA_EV_TASK_SCHEDULED, 2, 'a', 0, 0 };
	const uint8_t bad_cat[] = { 1, DURA_EV_EXECUTION_FAILED, 9, 0 };
	struct dura_rec r;
	tap_ok(dura_codec_decode(bad_version, sizeof bad_version, &r, NULL) != 0, "unknown version rejected");
	tap_ok(dura_codec_decode(bad_kind, sizeof bad_kind, &r, NULL) != 0, "unknown kind rejected");
	tap_ok(dura_codec_decode(overflow, sizeof overflow, &r, NULL) != 0, "65-bit varint rejected");
	tap_ok(dura_codec_decode(overlong, sizeof overlong, &r, NULL) != 0, "overlong varint rejected");
	tap_ok(dura_codec_decode(max64, sizeof max64, &r, NULL) == 0 && r.id == UINT64_MAX,
	       "UINT64_MAX varint accepted");
	tap_ok(dura_codec_decode(huge_len, sizeof huge_len, &r, NULL) != 0, "length beyond input rejected");
	tap_ok(dura_codec_decode(empty_name, sizeof empty_name, &r, NULL) != 0, "empty name rejected");
	tap_ok(dura_codec_decode(nul_name, sizeof nul_name, &r, NULL) != 0, "NUL in name rejected");
	tap_ok(dura_codec_decode(bad_cat, sizeof bad_cat, &r, NULL) != 0, "bad category rejected");
	tap_ok(dura_codec_decode(NULL, 0, &r, NULL) != 0, "empty input rejected");
}

int main(void)
{
	test_round_trips();
	test_truncations();
	test_bit_flips();
	test_random();
	test_specific_rejections();
	return tap_done();
}

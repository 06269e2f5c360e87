/*
 * The provider ABI's memory layout, pinned: every field offset and the size
 * of every struct that crosses the plugin boundary, as built by a 64-bit
 * (LP64) compiler.  A change here breaks every plugin already built, so it
 * must fail the build (the _Static_asserts) and not only a test.  A new
 * operation is appended: add its line below and a line to the ABI history
 * in provider.h.  On other data models only the relative checks run.
 */
#include <stddef.h>
#include <stdint.h>

#include <durabench/provider.h>

#include "tap.h"

#define PIN(st, field, off) { #st, #field, offsetof(struct st, field), off }
#define PIN_SIZE(st, size) { #st, "(sizeof)", sizeof(struct st), size }

struct pin {
	const char *type;
	const char *field;
	size_t got;
	size_t want;
};

#if UINTPTR_MAX == UINT64_MAX && SIZE_MAX == UINT64_MAX
#define LP64 1
_Static_assert(offsetof(struct dura_err, msg) == 0, "ABI: dura_err.msg moved");
_Static_assert(offsetof(struct dura_bytes, data) == 0, "ABI: dura_bytes.data moved");
_Static_assert(offsetof(struct dura_bytes, len) == 8, "ABI: dura_bytes.len moved");
_Static_assert(offsetof(struct dura_option, key) == 0, "ABI: dura_option.key moved");
_Static_assert(offsetof(struct dura_option, value) == 8, "ABI: dura_option.value moved");
_Static_assert(offsetof(struct dura_option_spec, name) == 0, "ABI: dura_option_spec.name moved");
_Static_assert(offsetof(struct dura_option_spec, default_value) == 8, "ABI: dura_option_spec.default_value moved");
_Static_assert(offsetof(struct dura_option_spec, help) == 16, "ABI: dura_option_spec.help moved");
_Static_assert(offsetof(struct dura_option_spec, flags) == 24, "ABI: dura_option_spec.flags moved");
_Static_assert(offsetof(struct dura_message, instance) == 0, "ABI: dura_message.instance moved");
_Static_assert(offsetof(struct dura_message, body) == 8, "ABI: dura_message.body moved");
_Static_assert(offsetof(struct dura_message, delay_ms) == 24, "ABI: dura_message.delay_ms moved");
_Static_assert(offsetof(struct dura_event, event_id) == 0, "ABI: dura_event.event_id moved");
_Static_assert(offsetof(struct dura_event, body) == 8, "ABI: dura_event.body moved");
_Static_assert(offsetof(struct dura_fetched_message, body) == 0, "ABI: dura_fetched_message.body moved");
_Static_assert(offsetof(struct dura_fetched_message, attempts) == 16, "ABI: dura_fetched_message.attempts moved");
_Static_assert(offsetof(struct dura_orch_item, token) == 0, "ABI: dura_orch_item.token moved");
_Static_assert(offsetof(struct dura_orch_item, instance) == 8, "ABI: dura_orch_item.instance moved");
_Static_assert(offsetof(struct dura_orch_item, execution) == 16, "ABI: dura_orch_item.execution moved");
_Static_assert(offsetof(struct dura_orch_item, messages) == 24, "ABI: dura_orch_item.messages moved");
_Static_assert(offsetof(struct dura_orch_item, n_messages) == 32, "ABI: dura_orch_item.n_messages moved");
_Static_assert(offsetof(struct dura_orch_item, history) == 40, "ABI: dura_orch_item.history moved");
_Static_assert(offsetof(struct dura_orch_item, n_history) == 48, "ABI: dura_orch_item.n_history moved");
_Static_assert(offsetof(struct dura_orch_item, attempts) == 56, "ABI: dura_orch_item.attempts moved");
_Static_assert(offsetof(struct dura_instance_meta, name) == 0, "ABI: dura_instance_meta.name moved");
_Static_assert(offsetof(struct dura_instance_meta, status) == 8, "ABI: dura_instance_meta.status moved");
_Static_assert(offsetof(struct dura_instance_meta, output) == 16, "ABI: dura_instance_meta.output moved");
_Static_assert(offsetof(struct dura_instance_meta, parent) == 32, "ABI: dura_instance_meta.parent moved");
_Static_assert(offsetof(struct dura_instance_meta, execution) == 40, "ABI: dura_instance_meta.execution moved");
_Static_assert(offsetof(struct dura_orch_ack, execution) == 0, "ABI: dura_orch_ack.execution moved");
_Static_assert(offsetof(struct dura_orch_ack, history) == 8, "ABI: dura_orch_ack.history moved");
_Static_assert(offsetof(struct dura_orch_ack, n_history) == 16, "ABI: dura_orch_ack.n_history moved");
_Static_assert(offsetof(struct dura_orch_ack, work_items) == 24, "ABI: dura_orch_ack.work_items moved");
_Static_assert(offsetof(struct dura_orch_ack, n_work_items) == 32, "ABI: dura_orch_ack.n_work_items moved");
_Static_assert(offsetof(struct dura_orch_ack, orch_items) == 40, "ABI: dura_orch_ack.orch_items moved");
_Static_assert(offsetof(struct dura_orch_ack, n_orch_items) == 48, "ABI: dura_orch_ack.n_orch_items moved");
_Static_assert(offsetof(struct dura_orch_ack, meta) == 56, "ABI: dura_orch_ack.meta moved");
_Static_assert(offsetof(struct dura_work_item, token) == 0, "ABI: dura_work_item.token moved");
_Static_assert(offsetof(struct dura_work_item, instance) == 8, "ABI: dura_work_item.instance moved");
_Static_assert(offsetof(struct dura_work_item, body) == 16, "ABI: dura_work_item.body moved");
_Static_assert(offsetof(struct dura_work_item, attempts) == 32, "ABI: dura_work_item.attempts moved");
_Static_assert(offsetof(struct dura_history, events) == 0, "ABI: dura_history.events moved");
_Static_assert(offsetof(struct dura_history, n_events) == 8, "ABI: dura_history.n_events moved");
_Static_assert(offsetof(struct dura_stats, struct_size) == 0, "ABI: dura_stats.struct_size moved");
_Static_assert(offsetof(struct dura_stats, round_trips) == 8, "ABI: dura_stats.round_trips moved");
_Static_assert(offsetof(struct dura_stats, commits) == 16, "ABI: dura_stats.commits moved");
_Static_assert(offsetof(struct dura_stats, empty_fetches) == 24, "ABI: dura_stats.empty_fetches moved");
_Static_assert(offsetof(struct dura_stats, lock_conflicts) == 32, "ABI: dura_stats.lock_conflicts moved");
_Static_assert(offsetof(struct dura_stats, retries) == 40, "ABI: dura_stats.retries moved");
_Static_assert(offsetof(struct dura_stats, reconnects) == 48, "ABI: dura_stats.reconnects moved");
_Static_assert(offsetof(struct dura_provider_ops, abi_major) == 0, "ABI: dura_provider_ops.abi_major moved");
_Static_assert(offsetof(struct dura_provider_ops, abi_minor) == 4, "ABI: dura_provider_ops.abi_minor moved");
_Static_assert(offsetof(struct dura_provider_ops, struct_size) == 8, "ABI: dura_provider_ops.struct_size moved");
_Static_assert(offsetof(struct dura_provider_ops, name) == 16, "ABI: dura_provider_ops.name moved");
_Static_assert(offsetof(struct dura_provider_ops, description) == 24, "ABI: dura_provider_ops.description moved");
_Static_assert(offsetof(struct dura_provider_ops, options) == 32, "ABI: dura_provider_ops.options moved");
_Static_assert(offsetof(struct dura_provider_ops, open) == 40, "ABI: dura_provider_ops.open moved");
_Static_assert(offsetof(struct dura_provider_ops, close) == 48, "ABI: dura_provider_ops.close moved");
_Static_assert(offsetof(struct dura_provider_ops, enqueue_orchestrator) == 56, "ABI: dura_provider_ops.enqueue_orchestrator moved");
_Static_assert(offsetof(struct dura_provider_ops, fetch_orchestration_item) == 64, "ABI: dura_provider_ops.fetch_orchestration_item moved");
_Static_assert(offsetof(struct dura_provider_ops, ack_orchestration_item) == 72, "ABI: dura_provider_ops.ack_orchestration_item moved");
_Static_assert(offsetof(struct dura_provider_ops, abandon_orchestration_item) == 80, "ABI: dura_provider_ops.abandon_orchestration_item moved");
_Static_assert(offsetof(struct dura_provider_ops, renew_orchestration_lock) == 88, "ABI: dura_provider_ops.renew_orchestration_lock moved");
_Static_assert(offsetof(struct dura_provider_ops, release_orchestration_item) == 96, "ABI: dura_provider_ops.release_orchestration_item moved");
_Static_assert(offsetof(struct dura_provider_ops, fetch_work_item) == 104, "ABI: dura_provider_ops.fetch_work_item moved");
_Static_assert(offsetof(struct dura_provider_ops, ack_work_item) == 112, "ABI: dura_provider_ops.ack_work_item moved");
_Static_assert(offsetof(struct dura_provider_ops, abandon_work_item) == 120, "ABI: dura_provider_ops.abandon_work_item moved");
_Static_assert(offsetof(struct dura_provider_ops, renew_work_lock) == 128, "ABI: dura_provider_ops.renew_work_lock moved");
_Static_assert(offsetof(struct dura_provider_ops, release_work_item) == 136, "ABI: dura_provider_ops.release_work_item moved");
_Static_assert(offsetof(struct dura_provider_ops, read_history) == 144, "ABI: dura_provider_ops.read_history moved");
_Static_assert(offsetof(struct dura_provider_ops, release_history) == 152, "ABI: dura_provider_ops.release_history moved");
_Static_assert(offsetof(struct dura_provider_ops, instance_status) == 160, "ABI: dura_provider_ops.instance_status moved");
_Static_assert(offsetof(struct dura_provider_ops, release_instance_status) == 168, "ABI: dura_provider_ops.release_instance_status moved");
_Static_assert(offsetof(struct dura_provider_ops, stats) == 176, "ABI: dura_provider_ops.stats moved");
_Static_assert(offsetof(struct dura_provider_ops, ping) == 184, "ABI: dura_provider_ops.ping moved");
_Static_assert(offsetof(struct dura_provider_ops, ack_work_item_and_fetch) == 192, "ABI: dura_provider_ops.ack_work_item_and_fetch moved");
_Static_assert(offsetof(struct dura_provider_ops, ack_orchestration_item_and_fetch) == 200, "ABI: dura_provider_ops.ack_orchestration_item_and_fetch moved");
_Static_assert(offsetof(struct dura_provider_ops, describe) == 208, "ABI: dura_provider_ops.describe moved");
_Static_assert(offsetof(struct dura_provider_ops, fetch_work_items) == 216, "ABI: dura_provider_ops.fetch_work_items moved");
_Static_assert(offsetof(struct dura_provider_ops, ack_work_items_and_fetch) == 224, "ABI: dura_provider_ops.ack_work_items_and_fetch moved");
_Static_assert(offsetof(struct dura_provider_ops, check_options) == 232, "ABI: dura_provider_ops.check_options moved");
_Static_assert(offsetof(struct dura_provider_ops, local_server) == 240, "ABI: dura_provider_ops.local_server moved");
_Static_assert(offsetof(struct dura_provider_ops, attach) == 248, "ABI: dura_provider_ops.attach moved");
_Static_assert(offsetof(struct dura_provider_ops, store_name) == 256, "ABI: dura_provider_ops.store_name moved");
_Static_assert(offsetof(struct dura_provider_ops, start_instances) == 264, "ABI: dura_provider_ops.start_instances moved");
_Static_assert(offsetof(struct dura_provider_ops, take_completions) == 272, "ABI: dura_provider_ops.take_completions moved");
_Static_assert(offsetof(struct dura_provider_ops, release_completions) == 280, "ABI: dura_provider_ops.release_completions moved");
_Static_assert(offsetof(struct dura_provider_ops, put_note) == 288, "ABI: dura_provider_ops.put_note moved");
_Static_assert(offsetof(struct dura_provider_ops, read_notes) == 296, "ABI: dura_provider_ops.read_notes moved");
_Static_assert(offsetof(struct dura_provider_ops, release_notes) == 304, "ABI: dura_provider_ops.release_notes moved");
_Static_assert(offsetof(struct dura_provider_ops, prefill) == 312, "ABI: dura_provider_ops.prefill moved");
_Static_assert(offsetof(struct dura_provider_ops, take_completions_acked) == 320, "ABI: dura_provider_ops.take_completions_acked moved");
_Static_assert(offsetof(struct dura_provider_ops, fetch_orchestration_items) == 328, "ABI: dura_provider_ops.fetch_orchestration_items moved");
_Static_assert(offsetof(struct dura_provider_ops, ack_orchestration_items_and_fetch) == 336, "ABI: dura_provider_ops.ack_orchestration_items_and_fetch moved");
_Static_assert(offsetof(struct dura_completion, instance) == 0, "ABI: dura_completion.instance moved");
_Static_assert(offsetof(struct dura_completion, status) == 8, "ABI: dura_completion.status moved");
_Static_assert(offsetof(struct dura_completion, started_us) == 16, "ABI: dura_completion.started_us moved");
_Static_assert(offsetof(struct dura_completion, completed_us) == 24, "ABI: dura_completion.completed_us moved");
_Static_assert(offsetof(struct dura_note, key) == 0, "ABI: dura_note.key moved");
_Static_assert(offsetof(struct dura_note, value) == 8, "ABI: dura_note.value moved");
_Static_assert(sizeof(struct dura_completion) == 32, "ABI: struct dura_completion changed size");
_Static_assert(sizeof(struct dura_completions) == 16, "ABI: struct dura_completions changed size");
_Static_assert(sizeof(struct dura_note) == 24, "ABI: struct dura_note changed size");
_Static_assert(sizeof(struct dura_notes) == 16, "ABI: struct dura_notes changed size");
_Static_assert(sizeof(struct dura_err) == 512, "ABI: struct dura_err changed size");
_Static_assert(sizeof(struct dura_bytes) == 16, "ABI: struct dura_bytes changed size");
_Static_assert(sizeof(struct dura_option) == 16, "ABI: struct dura_option changed size");
_Static_assert(sizeof(struct dura_option_spec) == 32, "ABI: struct dura_option_spec changed size");
_Static_assert(sizeof(struct dura_message) == 32, "ABI: struct dura_message changed size");
_Static_assert(sizeof(struct dura_event) == 24, "ABI: struct dura_event changed size");
_Static_assert(sizeof(struct dura_fetched_message) == 24, "ABI: struct dura_fetched_message changed size");
_Static_assert(sizeof(struct dura_orch_item) == 64, "ABI: struct dura_orch_item changed size");
_Static_assert(sizeof(struct dura_instance_meta) == 48, "ABI: struct dura_instance_meta changed size");
_Static_assert(sizeof(struct dura_orch_ack) == 64, "ABI: struct dura_orch_ack changed size");
_Static_assert(sizeof(struct dura_work_item) == 40, "ABI: struct dura_work_item changed size");
_Static_assert(sizeof(struct dura_history) == 16, "ABI: struct dura_history changed size");
_Static_assert(sizeof(struct dura_stats) == 56, "ABI: struct dura_stats changed size");
_Static_assert(sizeof(struct dura_provider_ops) == 344, "ABI: struct dura_provider_ops changed size");

static const struct pin pins[] = {
	PIN(dura_err, msg, 0),
	PIN(dura_bytes, data, 0),
	PIN(dura_bytes, len, 8),
	PIN(dura_option, key, 0),
	PIN(dura_option, value, 8),
	PIN(dura_option_spec, name, 0),
	PIN(dura_option_spec, default_value, 8),
	PIN(dura_option_spec, help, 16),
	PIN(dura_option_spec, flags, 24),
	PIN(dura_message, instance, 0),
	PIN(dura_message, body, 8),
	PIN(dura_message, delay_ms, 24),
	PIN(dura_event, event_id, 0),
	PIN(dura_event, body, 8),
	PIN(dura_fetched_message, body, 0),
	PIN(dura_fetched_message, attempts, 16),
	PIN(dura_orch_item, token, 0),
	PIN(dura_orch_item, instance, 8),
	PIN(dura_orch_item, execution, 16),
	PIN(dura_orch_item, messages, 24),
	PIN(dura_orch_item, n_messages, 32),
	PIN(dura_orch_item, history, 40),
	PIN(dura_orch_item, n_history, 48),
	PIN(dura_orch_item, attempts, 56),
	PIN(dura_instance_meta, name, 0),
	PIN(dura_instance_meta, status, 8),
	PIN(dura_instance_meta, output, 16),
	PIN(dura_instance_meta, parent, 32),
	PIN(dura_instance_meta, execution, 40),
	PIN(dura_orch_ack, execution, 0),
	PIN(dura_orch_ack, history, 8),
	PIN(dura_orch_ack, n_history, 16),
	PIN(dura_orch_ack, work_items, 24),
	PIN(dura_orch_ack, n_work_items, 32),
	PIN(dura_orch_ack, orch_items, 40),
	PIN(dura_orch_ack, n_orch_items, 48),
	PIN(dura_orch_ack, meta, 56),
	PIN(dura_work_item, token, 0),
	PIN(dura_work_item, instance, 8),
	PIN(dura_work_item, body, 16),
	PIN(dura_work_item, attempts, 32),
	PIN(dura_history, events, 0),
	PIN(dura_history, n_events, 8),
	PIN(dura_stats, struct_size, 0),
	PIN(dura_stats, round_trips, 8),
	PIN(dura_stats, commits, 16),
	PIN(dura_stats, empty_fetches, 24),
	PIN(dura_stats, lock_conflicts, 32),
	PIN(dura_stats, retries, 40),
	PIN(dura_stats, reconnects, 48),
	PIN(dura_provider_ops, abi_major, 0),
	PIN(dura_provider_ops, abi_minor, 4),
	PIN(dura_provider_ops, struct_size, 8),
	PIN(dura_provider_ops, name, 16),
	PIN(dura_provider_ops, description, 24),
	PIN(dura_provider_ops, options, 32),
	PIN(dura_provider_ops, open, 40),
	PIN(dura_provider_ops, close, 48),
	PIN(dura_provider_ops, enqueue_orchestrator, 56),
	PIN(dura_provider_ops, fetch_orchestration_item, 64),
	PIN(dura_provider_ops, ack_orchestration_item, 72),
	PIN(dura_provider_ops, abandon_orchestration_item, 80),
	PIN(dura_provider_ops, renew_orchestration_lock, 88),
	PIN(dura_provider_ops, release_orchestration_item, 96),
	PIN(dura_provider_ops, fetch_work_item, 104),
	PIN(dura_provider_ops, ack_work_item, 112),
	PIN(dura_provider_ops, abandon_work_item, 120),
	PIN(dura_provider_ops, renew_work_lock, 128),
	PIN(dura_provider_ops, release_work_item, 136),
	PIN(dura_provider_ops, read_history, 144),
	PIN(dura_provider_ops, release_history, 152),
	PIN(dura_provider_ops, instance_status, 160),
	PIN(dura_provider_ops, release_instance_status, 168),
	PIN(dura_provider_ops, stats, 176),
	PIN(dura_provider_ops, ping, 184),
	PIN(dura_provider_ops, ack_work_item_and_fetch, 192),
	PIN(dura_provider_ops, ack_orchestration_item_and_fetch, 200),
	PIN(dura_provider_ops, describe, 208),
	PIN(dura_provider_ops, fetch_work_items, 216),
	PIN(dura_provider_ops, ack_work_items_and_fetch, 224),
	PIN(dura_provider_ops, check_options, 232),
	PIN(dura_provider_ops, local_server, 240),
	PIN(dura_provider_ops, attach, 248),
	PIN(dura_provider_ops, store_name, 256),
	PIN(dura_provider_ops, start_instances, 264),
	PIN(dura_provider_ops, take_completions, 272),
	PIN(dura_provider_ops, release_completions, 280),
	PIN(dura_provider_ops, put_note, 288),
	PIN(dura_provider_ops, read_notes, 296),
	PIN(dura_provider_ops, release_notes, 304),
	PIN(dura_provider_ops, prefill, 312),
	PIN(dura_provider_ops, take_completions_acked, 320),
	PIN(dura_provider_ops, fetch_orchestration_items, 328),
	PIN(dura_provider_ops, ack_orchestration_items_and_fetch, 336),
	PIN(dura_completion, instance, 0),
	PIN(dura_completion, status, 8),
	PIN(dura_completion, started_us, 16),
	PIN(dura_completion, completed_us, 24),
	PIN(dura_note, key, 0),
	PIN(dura_note, value, 8),
	PIN_SIZE(dura_completion, 32),
	PIN_SIZE(dura_completions, 16),
	PIN_SIZE(dura_note, 24),
	PIN_SIZE(dura_notes, 16),
	PIN_SIZE(dura_err, 512),
	PIN_SIZE(dura_bytes, 16),
	PIN_SIZE(dura_option, 16),
	PIN_SIZE(dura_option_spec, 32),
	PIN_SIZE(dura_message, 32),
	PIN_SIZE(dura_event, 24),
	PIN_SIZE(dura_fetched_message, 24),
	PIN_SIZE(dura_orch_item, 64),
	PIN_SIZE(dura_instance_meta, 48),
	PIN_SIZE(dura_orch_ack, 64),
	PIN_SIZE(dura_work_item, 40),
	PIN_SIZE(dura_history, 16),
	PIN_SIZE(dura_stats, 56),
	PIN_SIZE(dura_provider_ops, 344),
};
#endif

/* Holds on every data model: the fixed prefix comes first and in order,
 * operations are pointer-sized slots appended in history order. */
_Static_assert(offsetof(struct dura_provider_ops, abi_major) == 0, "ABI: prefix");
_Static_assert(DURA_OPS_MIN_SIZE ==
               offsetof(struct dura_provider_ops, release_instance_status) +
               sizeof(void (*)(void)), "ABI: required operations end");

int main(void)
{
	tap_ok(DURA_ABI_MAJOR == 1 && DURA_ABI_MINOR == 7, "ABI version is 1.7 (got %d.%d)",
	       DURA_ABI_MAJOR, DURA_ABI_MINOR);
	/* Return codes are only ever appended: a plugin's code keeps its value. */
	tap_ok(DURA_OK == 0 && DURA_EMPTY == 1 && DURA_RETRY == 2 && DURA_LOCK_LOST == 3 &&
	       DURA_PERMANENT == 4 && DURA_CONFIG == 5 && DURA_CORRUPT == 6,
	       "return codes 0-5 unchanged; 1.6 appended DURA_CORRUPT = 6");
	/* The table size each minor introduced: what a plugin built for it
	 * reports as struct_size, and where DURA_OPT_OP stops reading. */
	tap_ok(offsetof(struct dura_provider_ops, fetch_work_items) == DURA_OPS_MIN_SIZE + 5 * sizeof(void *),
	       "1.0 ends after describe: 5 optional operations after the required ones");
	tap_ok(offsetof(struct dura_provider_ops, check_options) ==
	       offsetof(struct dura_provider_ops, fetch_work_items) + 2 * sizeof(void *),
	       "1.1 added 2 batch operations");
	tap_ok(offsetof(struct dura_provider_ops, attach) ==
	       offsetof(struct dura_provider_ops, check_options) + 2 * sizeof(void *),
	       "1.2 added check_options and local_server");
	tap_ok(offsetof(struct dura_provider_ops, prefill) ==
	       offsetof(struct dura_provider_ops, attach) + 8 * sizeof(void *),
	       "1.3 added the 8 scale-out operations");
	tap_ok(offsetof(struct dura_provider_ops, take_completions_acked) ==
	       offsetof(struct dura_provider_ops, prefill) + sizeof(void *),
	       "1.4 added prefill");
	tap_ok(offsetof(struct dura_provider_ops, fetch_orchestration_items) ==
	       offsetof(struct dura_provider_ops, take_completions_acked) + sizeof(void *),
	       "1.5 added take_completions_acked (1.6 only a return code)");
	tap_ok(sizeof(struct dura_provider_ops) ==
	       offsetof(struct dura_provider_ops, fetch_orchestration_items) + 2 * sizeof(void *),
	       "1.7 added the 2 orchestration batch operations, and nothing else");
	/* DURA_OPT_OP on a table that ends before an operation reads NULL. */
	struct dura_provider_ops old = { .struct_size = (uint32_t)offsetof(struct dura_provider_ops, fetch_work_items) };
	old.fetch_work_items = (dura_fetch_work_items_fn *)0x1;
	tap_ok(DURA_OPT_OP(&old, fetch_work_items) == NULL,
	       "DURA_OPT_OP: an operation beyond struct_size is NULL");
	old.struct_size = (uint32_t)sizeof old;
	tap_ok(DURA_OPT_OP(&old, fetch_work_items) == (dura_fetch_work_items_fn *)0x1,
	       "DURA_OPT_OP: an operation within struct_size is read");
#ifdef LP64
	for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
		tap_ok(pins[i].got == pins[i].want, "%s.%s at %zu (pinned %zu)", pins[i].type,
		       pins[i].field, pins[i].got, pins[i].want);
#else
	tap_ok(1, "# SKIP absolute offsets are pinned for LP64 only");
#endif
	return tap_done();
}

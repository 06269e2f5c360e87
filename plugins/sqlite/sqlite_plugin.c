/*
 * SQLite provider plugin: the operations table, the plugin's only exported
 * symbol.  Implementation: sqlite_store.c (lifecycle and helpers),
 * sqlite_orch.c, sqlite_work.c, sqlite_read.c, sqlite_schema.c,
 * sqlite_options.c.
 */

#include "sqlite_store.h"

static const struct dura_provider_ops sqlite_ops = {
	DURA_PROVIDER_PREFIX("sqlite",
		"SQLite (in-memory or a WAL file), one connection per store"),
	.options = dura_sqlite_option_specs,
	.check_options = dura_sqlite_check_options,
	.open = dura_sqlite_open,
	.close = dura_sqlite_close,
	.enqueue_orchestrator = dura_sqlite_enqueue_orchestrator,
	.fetch_orchestration_item = dura_sqlite_fetch_orchestration_item,
	.ack_orchestration_item = dura_sqlite_ack_orchestration_item,
	.abandon_orchestration_item = dura_sqlite_abandon_orchestration_item,
	.renew_orchestration_lock = dura_sqlite_renew_orchestration_lock,
	.release_orchestration_item = dura_sqlite_release_orchestration_item,
	.fetch_work_item = dura_sqlite_fetch_work_item,
	.ack_work_item = dura_sqlite_ack_work_item,
	.abandon_work_item = dura_sqlite_abandon_work_item,
	.renew_work_lock = dura_sqlite_renew_work_lock,
	.release_work_item = dura_sqlite_release_work_item,
	.read_history = dura_sqlite_read_history,
	.release_history = dura_sqlite_release_history,
	.instance_status = dura_sqlite_instance_status,
	.release_instance_status = dura_sqlite_release_instance_status,
	.stats = dura_sqlite_stats,
	.ping = NULL, /* not networked */
	.ack_work_item_and_fetch = dura_sqlite_ack_work_item_and_fetch,
	.ack_orchestration_item_and_fetch = dura_sqlite_ack_orchestration_item_and_fetch,
	.describe = dura_sqlite_describe,
	.fetch_work_items = dura_sqlite_fetch_work_items,
	.ack_work_items_and_fetch = dura_sqlite_ack_work_items_and_fetch,
	.attach = dura_sqlite_attach,
	.store_name = dura_sqlite_store_name,
	.start_instances = dura_sqlite_start_instances,
	.take_completions = dura_sqlite_take_completions,
	.release_completions = dura_sqlite_release_completions,
	.put_note = dura_sqlite_put_note,
	.read_notes = dura_sqlite_read_notes,
	.release_notes = dura_sqlite_release_notes,
	.prefill = dura_sqlite_prefill,
	.take_completions_acked = dura_sqlite_take_completions_acked,
};

const struct dura_provider_ops *dura_provider_entry(void)
{
	/* Allocation statistics cost a global mutex per malloc; nothing here
	 * reads them.  Only possible before SQLite initialises; when another
	 * user in the process initialised it first this fails harmlessly. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	dura_sqlite_install_allocator();
	return &sqlite_ops;
}

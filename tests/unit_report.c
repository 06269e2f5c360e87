/* Reports: a hand-built report renders the right Markdown rows and ratios,
 * and the JSON document parses (python3) with every field docs/reporting.md
 * lists, null for non-finite numbers and masked passwords. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "report/report.h"
#include "tap.h"

static char *slurp(FILE *f)
{
	fflush(f);
	long n = ftell(f);
	rewind(f);
	char *s = calloc(1, (size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	return s;
}

static void set_run(struct dura_report_run *r, const char *prov, unsigned o, unsigned w,
                    unsigned rep, double orch, double p50, double p99)
{
	memset(r, 0, sizeof *r);
	r->provider = prov;
	r->plugin = "sqlite";
	r->orch_workers = o;
	r->activity_workers = w;
	r->repeat_index = rep;
	r->ran = 1;
	struct dura_run_result *x = &r->result;
	x->launched = 100;
	x->completed = 100;
	x->verified = 100;
	x->success_pct = 100;
	x->window_s = 9;
	x->orch_per_sec = orch;
	x->activities_per_sec = orch * 5;
	x->bound_orch_per_sec = 20.0 * w;
	x->bound_fraction = orch / x->bound_orch_per_sec;
	x->latency.count = 100;
	x->latency.avg_ms = p50;
	x->latency.p50_ms = p50;
	x->latency.p95_ms = p99 * 0.9;
	x->latency.p99_ms = p99;
	x->latency.max_ms = p99 * 2;
	x->have_provider_stats = 1;
	x->provider_stats.round_trips = 1234;
	x->provider_stats.commits = 600;
}

static int contains(const char *hay, const char *needle)
{
	int ok = strstr(hay, needle) != NULL;
	if (!ok)
		tap_diag("missing: %s", needle);
	return ok;
}

static const char *python_check =
	"import json,math,sys\n"
	"d=json.load(open(sys.argv[1],encoding='utf-8'))\n"
	"need=lambda o,ks:[k for k in ks if k not in o]\n"
	"assert not need(d,['durabench','scenario','environment','runs','comparisons']),'top'\n"
	"assert d['durabench']=='durabench 9.9 (commit abc)'\n"
	"assert d['format']=='durabench-report/1'\n"
	"for r in d['runs']:\n"
	"  m=need(r,['provider','plugin','config','orch_workers','activity_workers','launched',"
	"'completed','failed','in_flight_at_end','success_pct','orch_per_sec',"
	"'activities_per_sec','bound_fraction','latency_ms','provider_stats','drain_ms',"
	"'cpu_ms_per_orch','verified','verify_failures','window_s','repeat'])\n"
	"  assert not m,m\n"
	"  assert not need(r['failed'],['infra','corrupt','config','app','timeout'])\n"
	"  assert not need(r['latency_ms'],['avg','p50','p95','p99','max'])\n"
	"  assert 'round_trips_per_orch' in r['provider_stats']\n"
	"r=d['runs']\n"
	"assert len(r)==6,len(r)\n"
	"assert r[0]['config']=='1:1' and r[0]['orch_per_sec']==40 and r[0]['completed']==100\n"
	"assert r[0]['provider_stats']['round_trips_per_orch']==12.34\n"
	"assert r[0]['failed']=={'infra':1,'corrupt':5,'config':2,'app':3,'timeout':4}\n"
	"assert r[0]['first_failure_category']=='infra' and r[1]['first_failure_category'] is None\n"
	"assert r[4]['ran'] is False and r[4]['orch_per_sec'] is None\n"
	"assert r[5]['latency_ms']['p50'] is None and r[5]['bound_fraction'] is None\n"
	"assert r[5]['orch_per_sec'] is None\n"
	"assert r[1]['provider']=='odd \"name\"\\n\\ufffd', repr(r[1]['provider'])\n"
	"c=d['comparisons']\n"
	"assert len(c)==1 and c[0]['name']=='mem-vs-file'\n"
	"assert c[0]['subject']=='sqlite-file' and c[0]['baseline']=='sqlite-mem'\n"
	"rows=c[0]['rows']\n"
	"assert [x['config'] for x in rows]==['1:1','2:2'],rows\n"
	"for x in rows: assert not need(x,['config','throughput_ratio','latency_p50_ratio','latency_p99_ratio'])\n"
	"assert abs(rows[0]['throughput_ratio']-0.5)<1e-9,rows[0]\n"
	"assert abs(rows[0]['latency_p50_ratio']-2.0)<1e-9\n"
	"assert abs(rows[0]['latency_p99_ratio']-3.0)<1e-9\n"
	"assert rows[1]['throughput_ratio'] is None\n"
	"for x in rows:\n"
	"  assert x['throughput_ratio_ci'] is None and x['no_difference'] is None,x\n"
	"  assert 'latency_p50_ratio_ci' in x and 'latency_p99_ratio_ci' in x\n"
	"s=d['scenario']\n"
	"assert s['run']['configs']==['1:1','2:2'] and s['workload']['tasks_per_instance']==5\n"
	"assert s['providers'][1]['options']['password']=='***'\n"
	"e=d['environment']\n"
	"assert e['cpus']==2 and e['sqlite_version']=='3.40.1' and e['providers'][0]['rtt_ms'] is None\n"
	"assert e['providers'][1]['emulated_rtt_ms']==50\n"
	"assert 'hunter2' not in open(sys.argv[1]).read()\n"
	"";

int main(void)
{
	/* ---- the jansson helpers on their own ---- */
	json_t *doc = dura_jobject();
	dura_jset(doc, "a", dura_jarray());
	dura_jset(doc, "n", dura_jnumber(NAN));
	dura_jset(doc, "i", dura_jnumber(INFINITY));
	dura_jset(doc, "x", dura_jnumber(1.5));
	dura_jset(doc, "s", dura_jstring("q\"\\\x01\xff"));
	dura_jset(doc, "z", dura_jstring(NULL));
	dura_jset(doc, "o", dura_jobject());
	char *s = dura_json_text(doc, 0);
	json_decref(doc);
	tap_ok(strcmp(s, "{\"a\":[],\"n\":null,\"i\":null,\"x\":1.5,\"s\":\"q\\\"\\\\\\u0001\ufffd\","
	                 "\"z\":null,\"o\":{}}") == 0,
	       "json: order kept, null for NaN/Inf/NULL, escapes, U+FFFD for bad UTF-8: %s", s);
	free(s);

	/* ---- a report ---- */
	struct dura_config_def configs[] = { { 1, 1 }, { 2, 2 } };
	struct dura_option mem_opts[] = { { "database", ":memory:" } };
	struct dura_option file_opts[] = { { "database", "/tmp/x.db" }, { "password", "hunter2" },
	                                   { "url", "postgresql://bob:hunter2@db:5432/x" } };
	struct dura_provider_def provs[] = {
		{ .name = "sqlite-mem", .plugin = "sqlite", .options = mem_opts, .n_options = 1 },
		{ .name = "sqlite-file", .plugin = "sqlite", .options = file_opts, .n_options = 3 },
	};
	struct dura_compare_def cmp = { .name = "mem-vs-file", .subject = "sqlite-file",
	                                .baseline = "sqlite-mem" };
	struct dura_scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.path = "conf/test.ini";
	sc.duration_ms = 10000;
	sc.warmup_ms = 1000;
	sc.drain_timeout_ms = 30000;
	sc.configs = configs;
	sc.n_configs = 2;
	sc.repeat = 2;
	sc.workload.scenario = "fanout";
	sc.workload.max_concurrent = 20;
	sc.workload.tasks_per_instance = 5;
	sc.workload.activity_delay_us = 10000;
	sc.providers = provs;
	sc.n_providers = 2;
	sc.compares = &cmp;
	sc.n_compares = 1;

	struct dura_report_run runs[6];
	/* 1:1: mem 100 (twice), file 40 and 60 -> ratio 50/100 */
	set_run(&runs[0], "sqlite-mem", 1, 1, 0, 40, 20, 60);
	runs[0].provider = "sqlite-file";
	runs[0].result.failed_corrupt = 5;
	runs[0].result.failed_infra = 1;
	runs[0].result.failed_config = 2;
	runs[0].result.failed_app = 3;
	runs[0].result.timed_out = 4;
	snprintf(runs[0].result.first_failure, sizeof runs[0].result.first_failure,
	         "instance r0.7 failed (infra): connection reset");
	snprintf(runs[0].result.first_failure_category,
	         sizeof runs[0].result.first_failure_category, "infra");
	set_run(&runs[1], "odd \"name\"\n\xff", 1, 1, 0, 100, 10, 20);
	set_run(&runs[2], "sqlite-file", 1, 1, 1, 60, 20, 60);
	set_run(&runs[3], "sqlite-mem", 1, 1, 1, 100, 10, 20);
	runs[3].result.provider_stats.round_trips = 1550;
	/* 2:2: file could not run; mem ran but produced nothing measurable */
	memset(&runs[4], 0, sizeof runs[4]);
	runs[4].provider = "sqlite-file";
	runs[4].plugin = "sqlite";
	runs[4].orch_workers = runs[4].activity_workers = 2;
	snprintf(runs[4].error, sizeof runs[4].error, "open failed: disk full");
	set_run(&runs[5], "sqlite-mem", 2, 2, 0, INFINITY, NAN, NAN);
	runs[5].result.latency.count = 0;
	runs[5].result.bound_orch_per_sec = 0;

	struct dura_report_provider rprov[] = {
		{ .name = "sqlite-mem", .plugin = "sqlite", .plugin_path = "/x/sqlite.so",
		  .description = "SQLite 3.40.1, :memory:", .rtt_ms = -1 },
		{ .name = "sqlite-file", .plugin = "sqlite", .plugin_path = "/x/sqlite.so",
		  .description = "SQLite 3.40.1, /tmp/x.db", .url = "postgresql://bob:***@db/x",
		  .rtt_ms = 0.25, .emulated_rtt_ms = 50 },
	};
	struct dura_report rep = {
		.scenario = &sc, .version = "durabench 9.9 (commit abc)", .commit = "abc",
		.cpus = 2, .sqlite_version = "3.40.1", .hostname = "testhost",
		.started_at = 1700000000, .runs = runs, .n_runs = 6, .providers = rprov,
		.n_providers = 2,
	};

	/* ---- Markdown ---- */
	FILE *f = tmpfile();
	dura_report_markdown(f, &rep);
	char *md = slurp(f);
	fclose(f);
	tap_ok(contains(md, "| Provider | Config | Completed | Failed | Success % | Orch/s | "
	                    "Activity/s | p50 | p95 | p99 | % of bound | Round trips/orch |"),
	       "markdown: run table header");
	tap_ok(contains(md, "| sqlite-file | 1:1 #1 | 100 | 15 | 100.0 | 40.0 | 200.0 | "
	                    "20.00 ms | 54.00 ms | 60.00 ms | 200.0 % | 12.3 |"),
	       "markdown: a run row with failures, latencies, bound and round trips");
	tap_ok(contains(md, "| sqlite-mem | 1:1 #2 | 100 | 0 | 100.0 | 100.0 | 500.0 | "
	                    "10.00 ms | 18.00 ms | 20.00 ms | 500.0 % | 15.5 |"),
	       "markdown: second repeat row");
	tap_ok(contains(md, "| sqlite-file | 2:2 #1 | - | - |"), "markdown: a run that did not run");
	tap_ok(contains(md, "did not run: open failed: disk full"), "markdown: its error");
	{
		const char *first = strstr(md, "- sqlite-file 1:1 #1: 15 of 100 instances did not "
		                               "complete; first failure [infra]: instance r0.7 "
		                               "failed (infra): connection reset");
		const char *note = strstr(md, "Latency: start call");
		tap_ok(first && note && first < note,
		       "markdown: a run's first failure and its category, under the per-run table");
	}
	tap_ok(contains(md, "| sqlite-mem | 2:2 #1 | 100 | 0 | 100.0 | n/a | n/a | - | - | - | - |"),
	       "markdown: non-finite numbers as n/a, no bound as -");
	tap_ok(contains(md, "### Compare mem-vs-file: sqlite-file / sqlite-mem"),
	       "markdown: compare heading");
	tap_ok(contains(md, "| 1:1 | 50.0 | 100.0 | 0.50x | 2.00x | 3.00x | 100.0 | 100.0 |"),
	       "markdown: ratio row averages repeats (only the named provider)");
	tap_ok(contains(md, "| 2:2 | n/a | n/a | n/a | n/a | n/a | n/a | 100.0 |"),
	       "markdown: ratio row when the subject did not run");
	tap_ok(contains(md, "- durabench: durabench 9.9 (commit abc)") &&
	       contains(md, "- host: testhost, 2 CPUs") && contains(md, "- SQLite: 3.40.1") &&
	       contains(md, "- date: 2023-11-14 22:13:20 UTC"),
	       "markdown: environment basics");
	tap_ok(contains(md, "- [run] duration = 10s, warmup = 1s, drain_timeout = 30s, "
	                    "configs = 1:1, 2:2, repeat = 2") &&
	       contains(md, "tasks_per_instance = 5, activity_delay = 10ms"),
	       "markdown: scenario parameters");
	tap_ok(contains(md, "- [provider sqlite-file] plugin sqlite (/x/sqlite.so); SQLite 3.40.1, /tmp/x.db") &&
	       contains(md, "measured RTT 0.250 ms; emulated RTT 50.000 ms") &&
	       contains(md, "[compare mem-vs-file] subject = sqlite-file, baseline = sqlite-mem"),
	       "markdown: provider and compare lines");
	tap_ok(!strstr(md, "hunter2"), "markdown: passwords masked");
	free(md);

	/* ---- JSON ---- */
	char path[] = "/tmp/unit_report_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char err[256];
	tap_ok(dura_report_json(&rep, path, err, sizeof err) == 0, "json: written");
	tap_ok(dura_report_json(&rep, "/nonexistent/dir/x.json", err, sizeof err) != 0 &&
	       strstr(err, "/nonexistent/dir/x.json") != NULL,
	       "json: unwritable path is an error naming it");
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("ok %d # SKIP python3 not available\n", ++tap_count);
	} else {
		char script[] = "/tmp/unit_report_py_XXXXXX";
		fd = mkstemp(script);
		FILE *pf = fdopen(fd, "w");
		fputs(python_check, pf);
		fclose(pf);
		char cmd[512];
		snprintf(cmd, sizeof cmd, "python3 %s %s", script, path);
		tap_ok(system(cmd) == 0, "json: parses, every documented field, values right");
		unlink(script);
	}
	unlink(path);
	return tap_done();
}

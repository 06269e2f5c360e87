/*
 * The workload catalogue and the one `mix` parser: names, the default, the
 * mix rules (blanks, weights 1..1000000, weight 0 refused, each workload
 * once, mixed not inside a mix, empty and trailing-comma texts refused, the
 * default mix), the same verdicts through a scenario file (file:line) and
 * through the workload objects, and the draw following the weights.
 */
#include "config.h"

#include "scenario/scenario.h"
#include "tap.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parses(const char *text, unsigned n, unsigned total)
{
	struct dura_workload_mix m;
	char err[256] = "";
	int rc = dura_workload_parse_mix(text, &m, err, sizeof err);
	if (rc != 0)
		tap_diag("'%s': %s", text ? text : "(default)", err);
	return rc == 0 && m.n == n && m.total == total;
}

/* Refused, with a message containing want. */
static int refused(const char *text, const char *want)
{
	struct dura_workload_mix m;
	char err[256] = "";
	int rc = dura_workload_parse_mix(text, &m, err, sizeof err);
	if (rc == 0 || !strstr(err, want))
		tap_diag("'%s': rc %d, '%s' (wanted '%s')", text, rc, err, want);
	return rc == -1 && strstr(err, want) != NULL;
}

static void test_catalogue(void)
{
	char names[256], mixable[256];
	dura_workload_names(0, names, sizeof names);
	dura_workload_names(1, mixable, sizeof mixable);
	tap_ok(strcmp(names, "fanout, timers, suborch, continue_as_new, payload or mixed") == 0,
	       "catalogue names: %s", names);
	tap_ok(strcmp(mixable, "fanout, timers, suborch, continue_as_new or payload") == 0,
	       "names a mix may use: %s", mixable);
	tap_ok(dura_workload_known("mixed", 0) && !dura_workload_known("mixed", 1) &&
	       dura_workload_known("payload", 1) && !dura_workload_known("fanin", 0) &&
	       !dura_workload_known(NULL, 0),
	       "known: mixed is a workload but not part of a mix; unknown names are not");
	struct dura_workload_def def;
	memset(&def, 0, sizeof def);
	tap_ok(strcmp(dura_workload_name(&def), DURA_WORKLOAD_DEFAULT) == 0 &&
	       strcmp(dura_workload_name(NULL), "fanout") == 0,
	       "a def without a scenario names the default, fanout");
}

static void test_mix_rules(void)
{
	tap_ok(parses("fanout:60,timers:20,suborch:20", 3, 100), "plain mix");
	tap_ok(parses(" fanout : 60 ,\ttimers:20 , payload:1 ", 3, 81),
	       "blanks around names, weights and commas");
	tap_ok(parses("continue_as_new:1000000", 1, 1000000), "one entry, the largest weight");
	tap_ok(parses(NULL, 5, 100), "no mix: the default (5 workloads, weights adding to 100)");
	tap_ok(refused("fanout:0,timers:10", "'fanout' has weight 0"), "weight 0 is refused");
	tap_ok(refused("fanout:1000001", "bad mix"), "a weight above 1000000 is refused");
	tap_ok(refused("fanout:-1", "bad mix"), "a negative weight is refused");
	tap_ok(refused("fanout:1.5", "bad mix"), "a fractional weight is refused");
	tap_ok(refused("fanout:", "bad mix"), "a missing weight is refused");
	tap_ok(refused("fanout=60", "bad mix 'fanout=60'"), "NAME=WEIGHT is refused");
	tap_ok(refused("fanout:60,", "bad mix"), "a trailing comma is refused");
	tap_ok(refused("", "bad mix"), "an empty mix is refused");
	tap_ok(refused("   ", "bad mix"), "a blank mix is refused");
	tap_ok(refused("fanout:1,fanout:2", "'fanout' is listed twice"), "a workload twice");
	tap_ok(refused("mixed:10", "unknown scenario 'mixed' (expected fanout, timers"),
	       "mixed inside a mix is refused");
	tap_ok(refused("bogus:10", "unknown scenario 'bogus'"), "an unknown workload is refused");
}

/* A scenario file whose [workload] has `mix = text` (line 3). */
static int scenario_mix(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/unit_workloads.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -2;
	FILE *f = fdopen(fd, "w");
	fprintf(f, "[workload]\nscenario = mixed\nmix = %s\n[provider m]\nplugin = memstore\n", text);
	fclose(f);
	struct dura_scenario sc;
	int rc = dura_scenario_load(path, &sc, err, errlen);
	dura_scenario_free(&sc); /* also after an error */
	unlink(path);
	return rc;
}

static void test_one_parser(void)
{
	char err[512] = "";
	int rc = scenario_mix("fanout:0, timers:10", err, sizeof err);
	tap_ok(rc != 0 && strstr(err, ":3:") && strstr(err, "'fanout' has weight 0"),
	       "scenario file: weight 0 refused at its line: %s", err);
	err[0] = '\0';
	rc = scenario_mix("fanout:5, timers:10", err, sizeof err);
	tap_ok(rc == 0, "scenario file: a good mix loads %s", err);

	struct dura_workload_def def;
	memset(&def, 0, sizeof def);
	def.scenario = "mixed";
	def.mix = "fanout:0,timers:10";
	struct dura_workload *wl = NULL;
	rc = dura_workload_new(&def, &wl, err, sizeof err);
	tap_ok(rc == -1 && wl == NULL && strstr(err, "weight 0"),
	       "workload object: the same weight 0 refused the same way: %s", err);
	def.scenario = "nosuch";
	rc = dura_workload_check(&def, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "unknown scenario 'nosuch' (expected fanout, timers"),
	       "workload object: unknown scenario listed from the catalogue: %s", err);
}

/* The draw follows the weights: over 10000 instances of fanout:3,timers:1
 * about three in four are fanouts (the draw is a fixed hash of seq). */
static void test_draw(void)
{
	struct dura_workload_def def;
	memset(&def, 0, sizeof def);
	def.scenario = "mixed";
	def.mix = "fanout:3,timers:1";
	def.tasks_per_instance = 2;
	def.timers = 1;
	struct dura_workload *wl = NULL;
	char err[256];
	if (!tap_ok(dura_workload_new(&def, &wl, err, sizeof err) == 0, "mixed workload builds")) {
		tap_diag("%s", err);
		return;
	}
	struct dura_buf in = { 0 };
	unsigned fan = 0, other = 0;
	for (uint64_t seq = 0; seq < 10000; seq++) {
		const char *orch = dura_workload_input(wl, seq, &in);
		if (strcmp(orch, "fanout") == 0)
			fan++;
		else
			other++;
	}
	dura_buf_free(&in);
	dura_workload_free(wl);
	tap_ok(fan > 7000 && fan < 8000 && fan + other == 10000,
	       "draw by weight: %u of 10000 are fanouts (3:1)", fan);
}

int main(void)
{
	test_catalogue();
	test_mix_rules();
	test_one_parser();
	test_draw();
	return tap_done();
}

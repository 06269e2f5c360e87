/* Scenario files: every parsed value of the good files under tests/ini, the
 * exact file:line and message of every bad one, the INI reader's line
 * counting, configs lists and ${VAR} expansion. */
#include "config.h"

#include "base/ini_reader.h"
#include "scenario/scenario.h"
#include "base/util.h"

#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DURA_TEST_INI_DIR
#error DURA_TEST_INI_DIR must name tests/ini
#endif

static char tmpdir[256];

static char *ini_path(const char *name)
{
	return dura_xasprintf("%s/%s", DURA_TEST_INI_DIR, name);
}

/* The 500-byte URL of good-full.ini and bad-after-long-line.ini (built the
 * same way as when the files were written). */
static char *long_url(void)
{
	const char *head = "postgresql://bench:s3cr%40t@db.example.com:6432/durabench?application_name=";
	const char *tail = "&options=-c%20statement_timeout%3D5000&sslmode=prefer&target_session_attrs=any";
	size_t nx = 500 - strlen(head) - strlen(tail);
	char *x = dura_xmalloc(nx + 1);
	memset(x, 'x', nx);
	x[nx] = '\0';
	char *url = dura_xasprintf("%s%s%s", head, x, tail);
	free(x);
	return url;
}

static const char *opt(const struct dura_provider_def *p, size_t i, const char *key)
{
	if (i >= p->n_options || strcmp(p->options[i].key, key) != 0)
		return NULL;
	return p->options[i].value;
}

static void test_good_full(void)
{
	char *path = ini_path("good-full.ini");
	char err[1024] = "";
	struct dura_scenario sc;
	setenv("DURA_TEST_PLUGIN", "postgres", 1);
	char *long_value = long_url(); /* a long URL goes through ${VAR} intact */
	setenv("DURA_TEST_LONG_URL", long_value, 1);
	free(long_value);
	setenv("DURA_TEST_EMPTY", "", 1);
	unsetenv("DURA_TEST_UNSET_X");
	int rc = dura_scenario_load(path, &sc, err, sizeof err);
	if (!tap_ok(rc == 0, "good-full.ini loads")) {
		tap_diag("%s", err);
		dura_scenario_free(&sc);
		free(path);
		return;
	}
	tap_ok(strcmp(sc.path, path) == 0, "path kept");
	tap_ok(sc.duration_ms == 90000, "duration 90s");
	tap_ok(sc.warmup_ms == 2500, "warmup 2500ms (no blanks around '=')");
	tap_ok(sc.drain_timeout_ms == 45000, "drain_timeout 45s (indented, inline comment)");
	tap_ok(sc.n_configs == 4 && sc.configs[0].orch_workers == 1 && sc.configs[0].activity_workers == 1 &&
	       sc.configs[2].orch_workers == 4 && sc.configs[3].orch_workers == 8 &&
	       sc.configs[3].activity_workers == 16, "configs 1:1, 2:2,4:4 , 8:16");
	tap_ok(sc.repeat == 3, "repeat 3");
	tap_ok(sc.orch_batch == 6, "orch_batch 6");
	const struct dura_workload_def *w = &sc.workload;
	tap_ok(strcmp(w->scenario, "mixed") == 0, "scenario mixed");
	tap_ok(w->max_concurrent == 64, "max_concurrent 64");
	tap_ok(w->rate == 12.5, "rate 12.5/s");
	tap_ok(w->tasks_per_instance == 7, "tasks_per_instance 7");
	tap_ok(w->activity_delay_us == 250, "activity_delay 250us");
	tap_ok(w->payload_bytes == 10240, "payload_bytes 10KB");
	tap_ok(w->timers == 2, "timers 2");
	tap_ok(w->timer_delay_us == 1500000, "timer_delay 1.5s");
	tap_ok(w->children == 4, "children 4");
	tap_ok(w->iterations == 11, "iterations 11");
	tap_ok(w->mix && strcmp(w->mix, "fanout:60, timers:20,suborch:20") == 0, "mix kept");

	tap_ok(sc.n_providers == 2, "two providers");
	if (sc.n_providers == 2) {
		const struct dura_provider_def *a = &sc.providers[0], *b = &sc.providers[1];
		tap_ok(strcmp(a->name, "sqlite-mem") == 0 && strcmp(a->plugin, "sqlite") == 0 &&
		       a->line == 25 && a->plugin_line == 26, "provider sqlite-mem, line 25");
		tap_ok(a->n_options == 2 && opt(a, 0, "database") && strcmp(opt(a, 0, "database"), ":memory:") == 0 &&
		       opt(a, 1, "synchronous") && strcmp(opt(a, 1, "synchronous"), "off") == 0 &&
		       a->option_lines[0] == 27 && a->option_lines[1] == 28,
		       "sqlite-mem options in file order with lines, plugin not among them");
		tap_ok(strcmp(b->name, "pg.remote_1") == 0 && strcmp(b->plugin, "postgres") == 0,
		       "provider pg.remote_1, plugin from ${DURA_TEST_PLUGIN}");
		char *url = long_url();
		const char *got = opt(b, 0, "url");
		tap_ok(got && strlen(got) == 500 && strcmp(got, url) == 0,
		       "the 500-byte URL survives intact (got %zu bytes)", got ? strlen(got) : 0);
		free(url);
		tap_ok(opt(b, 1, "emulate_rtt") && strcmp(opt(b, 1, "emulate_rtt"), "50ms") == 0,
		       "inline comment cut from emulate_rtt");
		const char *note = opt(b, 2, "note");
		tap_ok(note && strcmp(note, "a;b c=d $HOME fallback") == 0,
		       "';' without a blank, '=', empty ${VAR}, $$ and ${VAR:-default} in a value ('%s')",
		       note ? note : "(null)");
		tap_ok(opt(b, 3, "empty") && strcmp(opt(b, 3, "empty"), "") == 0, "empty value");
		tap_ok(b->n_options == 4 && b->option_lines[0] == 32 && b->option_lines[3] == 35,
		       "option lines 32..35");
	}
	tap_ok(sc.n_compares == 1 && strcmp(sc.compares[0].name, "pg-vs-sqlite") == 0 &&
	       strcmp(sc.compares[0].subject, "pg.remote_1") == 0 &&
	       strcmp(sc.compares[0].baseline, "sqlite-mem") == 0 && sc.compares[0].line == 37 &&
	       sc.compares[0].subject_line == 38 && sc.compares[0].baseline_line == 39,
	       "compare pg-vs-sqlite");
	dura_scenario_free(&sc);
	tap_ok(sc.providers == NULL && sc.path == NULL, "free clears the struct");
	dura_scenario_free(&sc); /* twice is harmless */
	free(path);
}

static void test_good_minimal(void)
{
	char *path = ini_path("good-minimal.ini");
	char err[512] = "";
	struct dura_scenario sc;
	int rc = dura_scenario_load(path, &sc, err, sizeof err);
	tap_ok(rc == 0, "good-minimal.ini loads %s", err);
	if (rc == 0) {
		const struct dura_workload_def *w = &sc.workload;
		tap_ok(sc.duration_ms == 10000 && sc.warmup_ms == 1000 && sc.drain_timeout_ms == 30000 &&
		       sc.repeat == 1 && sc.orch_batch == DURA_DEFAULT_ORCH_BATCH, "run defaults");
		tap_ok(sc.n_configs == 3 && sc.configs[1].orch_workers == 2 &&
		       sc.configs[1].activity_workers == 2 && sc.configs[2].orch_workers == 4,
		       "configs default 1:1, 2:2, 4:4");
		tap_ok(strcmp(w->scenario, "fanout") == 0 && w->max_concurrent == 20 && w->rate == 0 &&
		       w->tasks_per_instance == 5 && w->activity_delay_us == 10000 &&
		       w->payload_bytes == 0 && w->timers == 1 && w->timer_delay_us == 10000 &&
		       w->children == 3 && w->iterations == 5 && w->mix == NULL,
		       "workload defaults (no [workload] section)");
		tap_ok(sc.n_providers == 1 && sc.providers[0].n_options == 0 && sc.n_compares == 0,
		       "one provider, no options, no compares");
	}
	dura_scenario_free(&sc);
	free(path);
}

static void test_good_crlf(void)
{
	char *path = ini_path("good-crlf-bom.ini");
	char err[512] = "";
	struct dura_scenario sc;
	int rc = dura_scenario_load(path, &sc, err, sizeof err);
	tap_ok(rc == 0, "good-crlf-bom.ini loads %s", err);
	if (rc == 0) {
		tap_ok(sc.duration_ms == 5000 && sc.n_providers == 2 &&
		       strcmp(sc.providers[0].plugin, "sqlite") == 0 &&
		       strcmp(sc.providers[1].plugin, "./plugins/x.so") == 0 && sc.providers[1].line == 6 &&
		       strcmp(sc.compares[0].baseline, "a") == 0,
		       "BOM, CRLF, tabs, comments after headers, no final newline");
	}
	dura_scenario_free(&sc);
	free(path);
}

/* Loads a file expected to fail: err must start with "PATH:LINE: " and
 * contain want. */
static void expect_error_at(const char *path, const char *label, int line, const char *want)
{
	char err[1024] = "";
	struct dura_scenario sc;
	int rc = dura_scenario_load(path, &sc, err, sizeof err);
	char *prefix = dura_xasprintf("%s:%d: ", path, line);
	int ok = rc == -1 && strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, want) != NULL;
	tap_ok(ok, "%s -> line %d: %s", label, line, want);
	if (!ok)
		tap_diag("got rc=%d err='%s'", rc, err);
	dura_scenario_free(&sc);
	free(prefix);
}

static void expect_error(const char *name, int line, const char *want)
{
	char *path = ini_path(name);
	expect_error_at(path, name, line, want);
	free(path);
}

static void test_bad_files(void)
{
	unsetenv("DURA_TEST_SURELY_UNSET");
	expect_error("bad-no-equals.ini", 3, "expected 'key = value' or '[section]', found 'warmup 1s'");
	expect_error("bad-unterminated-section.ini", 3, "unterminated section header (missing ']')");
	expect_error("bad-text-after-section.ini", 1, "unexpected text after ']'");
	expect_error("bad-unknown-section.ini", 2, "unknown section [runn]");
	expect_error("bad-section-name-run.ini", 1, "section [run] takes no name");
	expect_error("bad-unknown-key-run.ini", 3,
	             "unknown key 'durration' in [run] (accepted: duration, warmup, drain_timeout, verify_timeout, configs, repeat, activity_batch, orch_batch, interval, processes, prefill, stop_timeout)");
	expect_error("bad-unknown-key-workload.ini", 3, "unknown key 'concurrency' in [workload]");
	expect_error("bad-unknown-key-compare.ini", 5,
	             "unknown key 'reference' in [compare c] (accepted: subject, baseline)");
	expect_error("bad-duplicate-key.ini", 4, "duplicate key 'duration' in [run] (first at line 2)");
	expect_error("bad-duplicate-provider-key.ini", 5,
	             "duplicate key 'database' in [provider a] (first at line 3)");
	expect_error("bad-duplicate-plugin.ini", 3, "duplicate key 'plugin' in [provider a] (first at line 2)");
	expect_error("bad-duplicate-provider.ini", 5, "duplicate provider 'a' (first at line 1)");
	expect_error("bad-duplicate-compare.ini", 8, "duplicate compare 'c' (first at line 5)");
	expect_error("bad-duplicate-section.ini", 4, "duplicate section [workload] (first at line 1)");
	expect_error("bad-unit-missing.ini", 2, "[workload] activity_delay: duration '10' needs a unit");
	expect_error("bad-unit-unknown.ini", 2, "[run] duration: bad duration '10 parsecs'");
	expect_error("bad-duration-zero.ini", 2, "[run] duration: must be more than 0");
	expect_error("bad-duration-sub-ms.ini", 2, "must be a whole number of milliseconds");
	expect_error("bad-number.ini", 2, "[workload] max_concurrent: bad number 'many'");
	expect_error("bad-number-range.ini", 2, "[workload] max_concurrent: value 0 out of range [1, 100000]");
	expect_error("bad-size.ini", 2, "[workload] payload_bytes: bad size '10XB'");
	expect_error("bad-size-limit.ini", 2, "more than the limit of 64 MB");
	expect_error("bad-rate.ini", 2, "[workload] rate: bad rate 'fast'");
	expect_error("bad-configs-syntax.ini", 2, "[run] configs: bad config '2:'");
	expect_error("bad-configs-trailing-comma.ini", 2, "[run] configs: bad config ''");
	expect_error("bad-configs-zero.ini", 2, "config 0:2: worker counts must be between 1 and 256");
	expect_error("bad-configs-too-big.ini", 2, "config 257:1: worker counts must be between 1 and 256");
	expect_error("bad-repeat.ini", 2, "[run] repeat: value 0 out of range");
	expect_error("bad-scenario.ini", 2, "unknown scenario 'fanin' (expected fanout, timers");
	expect_error("bad-mix.ini", 3, "[workload] mix: unknown scenario 'bogus'");
	expect_error("bad-mix-syntax.ini", 2, "bad mix 'fanout=60'");
	expect_error("bad-compare-unknown.ini", 6,
	             "[compare c] baseline: no [provider nope] in this file (providers: a)");
	expect_error("bad-compare-unknown-subject.ini", 2, "[compare c] subject: no [provider later]");
	expect_error("bad-compare-missing.ini", 3, "[compare c] needs 'baseline = PROVIDER'");
	expect_error("bad-compare-same.ini", 5, "subject and baseline are the same provider 'a'");
	expect_error("bad-provider-no-plugin.ini", 4, "[provider b] has no 'plugin' key");
	expect_error("bad-provider-empty-plugin.ini", 2, "[provider a] plugin: empty");
	expect_error("bad-provider-noname.ini", 1, "[provider] needs a name: [provider NAME]");
	expect_error("bad-provider-name.ini", 1, "bad provider name 'pg local'");
	expect_error("bad-no-provider.ini", 0, "no [provider NAME] section");
	expect_error("bad-empty.ini", 0, "empty scenario file");
	expect_error("bad-comments-only.ini", 0, "empty scenario file");
	expect_error("bad-key-before-section.ini", 1, "key 'duration' before the first [section]");
	expect_error("bad-unset-var.ini", 3,
	             "[provider a] url: environment variable 'DURA_TEST_SURELY_UNSET' is not set");
	expect_error("bad-var-syntax.ini", 3, "bad variable reference '${1BAD}'");
	expect_error("bad-var-unterminated.ini", 3, "unterminated '${'");
	expect_error("bad-warmup.ini", 3, "warmup (5s) must be shorter than duration (5s)");
	expect_error("bad-empty-key.ini", 2, "missing key before '='");
	expect_error("bad-after-long-line.ini", 4, "line is 506 bytes, longer than the 197 bytes");
	expect_error("does-not-exist.ini", 0, "cannot read: No such file or directory");
	char *dir = dura_xstrdup(DURA_TEST_INI_DIR);
	expect_error_at(dir, "a directory", 0, "cannot read: Is a directory");
	free(dir);
}

/* Writes a temporary file: "[provider a]\nplugin = sqlite\n" then a key line
 * "k = " padded with 'v' to exactly len bytes, then eol. */
static char *write_long_line_file(const char *name, size_t len, const char *eol)
{
	char *path = dura_xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return path;
	fputs("[provider a]\nplugin = sqlite\n", f);
	fputs("k = ", f);
	for (size_t i = 4; i < len; i++)
		fputc('v', f);
	fputs(eol, f);
	fputs("after = 1\n", f);
	fclose(f);
	return path;
}

static void test_overlong_lines(void)
{
	char err[1024] = "";
	struct dura_scenario sc;
	const size_t max = DURA_INI_MAX_LINE;

	char *path = write_long_line_file("exact.ini", max, "\n");
	int rc = dura_scenario_load(path, &sc, err, sizeof err);
	tap_ok(rc == 0 && sc.n_providers == 1 && sc.providers[0].n_options == 2 &&
	       strlen(sc.providers[0].options[0].value) == max - 4 &&
	       sc.providers[0].option_lines[1] == 4,
	       "a line of exactly %zu bytes is read whole %s", max, err);
	dura_scenario_free(&sc);
	free(path);

	path = write_long_line_file("exact-crlf.ini", max, "\r\n");
	rc = dura_scenario_load(path, &sc, err, sizeof err);
	tap_ok(rc == 0 && strlen(sc.providers[0].options[0].value) == max - 4,
	       "... also with CRLF %s", err);
	dura_scenario_free(&sc);
	free(path);

	path = write_long_line_file("overlong.ini", max + 1, "\n");
	expect_error_at(path, "overlong line", 3, "longer than the 197 bytes the system's INI parser (libinih) reads");
	free(path);

	path = write_long_line_file("overlong-eof.ini", 3 * max, "");
	expect_error_at(path, "huge line", 3, "put a long value (such as a URL) in an environment variable");
	free(path);

	path = dura_xasprintf("%s/nul.ini", tmpdir);
	FILE *f = fopen(path, "w");
	if (f) {
		fwrite("[provider a]\nplugin = sql\0ite\n", 1, 30, f);
		fclose(f);
	}
	expect_error_at(path, "NUL byte", 2, "NUL byte in line");
	free(path);
}

struct seen {
	char text[1024];
};

static int record(void *user, int line, const char *section, const char *key, const char *value,
                  char *msg, size_t msglen)
{
	struct seen *s = user;
	size_t n = strlen(s->text);
	snprintf(s->text + n, sizeof s->text - n, "%d[%s]%s=%s|", line, section, key ? key : "-",
	         value ? value : "-");
	if (key && strcmp(key, "stop") == 0) {
		snprintf(msg, msglen, "stopped here");
		return 1;
	}
	return 0;
}

static void test_reader(void)
{
	const char *text = "; c\n[a]\n\n  x = 1 ; c\ny=a=b;c ;d\n# c\n[ b  c ]\nz =\n";
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct seen s = { "" };
	char err[256] = "";
	int rc = dura_ini_parse_stream(f, "mem", record, &s, err, sizeof err);
	fclose(f);
	tap_ok(rc == 0 && strcmp(s.text, "2[a]-=-|4[a]x=1|5[a]y=a=b;c|7[b  c]-=-|8[b  c]z=|") == 0,
	       "reader: sections, pairs and line numbers (%s)", s.text);

	const char *stop = "[a]\nx=1\nstop = now\nnever=1\n";
	f = fmemopen((void *)stop, strlen(stop), "r");
	s.text[0] = '\0';
	rc = dura_ini_parse_stream(f, "mem", record, &s, err, sizeof err);
	fclose(f);
	tap_ok(rc == -1 && strcmp(err, "mem:3: stopped here") == 0 && !strstr(s.text, "never"),
	       "reader: a handler error stops the parse with NAME:LINE (%s)", err);
}

static void test_configs(void)
{
	struct dura_config_def *c = NULL;
	size_t n = 0;
	char err[256] = "";
	tap_ok(dura_parse_configs("1:1, 2:2,4:4", &c, &n, err, sizeof err) == 0 && n == 3 &&
	       c[2].orch_workers == 4 && c[2].activity_workers == 4, "configs '1:1, 2:2,4:4'");
	free(c);
	tap_ok(dura_parse_configs(" 256:1 ", &c, &n, err, sizeof err) == 0 && n == 1 &&
	       c[0].orch_workers == 256, "configs ' 256:1 '");
	free(c);
	static const char *bad[] = { "", ",", "1:1,,2:2", "1", "1:", ":1", "a:b", "1:1x", "-1:1",
	                             "1:1:1", "0:1", "1:0", "1:257", "99999999999:1", "1:1,1:1",
	                             "+1:1", "1 1:1", NULL };
	for (size_t i = 0; bad[i]; i++) {
		c = NULL;
		err[0] = '\0';
		int rc = dura_parse_configs(bad[i], &c, &n, err, sizeof err);
		tap_ok(rc == -1 && c == NULL && err[0], "configs '%s' refused: %s", bad[i], err);
	}
}

static void test_expand(void)
{
	char err[256] = "";
	setenv("DURA_T_A", "alpha", 1);
	setenv("DURA_T_E", "", 1);
	unsetenv("DURA_T_U");
	struct {
		const char *in, *out;
	} ok[] = {
		{ "", "" },
		{ "plain", "plain" },
		{ "${DURA_T_A}", "alpha" },
		{ "x${DURA_T_A}y${DURA_T_A}", "xalphayalpha" },
		{ "$$", "$" },
		{ "$${DURA_T_A}", "${DURA_T_A}" },
		{ "a$b $ end$", "a$b $ end$" },
		{ "${DURA_T_E}", "" },
		{ "${DURA_T_U:-dflt}", "dflt" },
		{ "${DURA_T_E:-dflt}", "dflt" },
		{ "${DURA_T_A:-dflt}", "alpha" },
		{ "${DURA_T_U:-}", "" },
		{ "${DURA_T_U:-a b=c}", "a b=c" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *r = dura_expand_env(ok[i].in, err, sizeof err);
		tap_ok(r && strcmp(r, ok[i].out) == 0, "expand '%s' -> '%s' (got '%s')", ok[i].in,
		       ok[i].out, r ? r : err);
		free(r);
	}
	struct {
		const char *in, *msg;
	} bad[] = {
		{ "${DURA_T_U}", "environment variable 'DURA_T_U' is not set" },
		{ "${", "unterminated" },
		{ "${DURA_T_A", "unterminated" },
		{ "${}", "bad variable reference" },
		{ "${1X}", "bad variable reference" },
		{ "${A-B}", "bad variable reference" },
		{ "${A:B}", "bad variable reference" },
		{ "${ A}", "bad variable reference" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		char *r = dura_expand_env(bad[i].in, err, sizeof err);
		tap_ok(!r && strstr(err, bad[i].msg), "expand '%s' refused: %s", bad[i].in, err);
		free(r);
	}
}

/* Random files built from the characters and words that matter: each one
 * loads or fails with "PATH:LINE: ...", never crashes (run under ASan). */
static void test_hostile(void)
{
	static const char *pieces[] = {
		"[", "]", "=", " ", "\t", "\n", "\r\n", ";", "#", "run", "workload", "provider",
		"compare", " a", " b", "plugin", "sqlite", "subject", "baseline", "duration", "10s",
		"configs", "1:1", ",", "${", "}", "HOME", "$$", ":-", "scenario", "mixed", "mix",
		"fanout:1", "\xef\xbb\xbf", "\xff", "url", "postgresql://u:p@h/db?x=1", "0", "\n[provider a]\nplugin=x\n",
	};
	const size_t n_pieces = sizeof pieces / sizeof pieces[0];
	char *path = dura_xasprintf("%s/random.ini", tmpdir);
	unsigned seed = 4711;
	int bad = 0, loaded = 0;
	char first[1200] = "";
	for (int iter = 0; iter < 1000; iter++) {
		FILE *f = fopen(path, "w");
		if (!f)
			break;
		seed = seed * 1103515245u + 12345u;
		int parts = (int)((seed >> 16) % 40);
		for (int k = 0; k < parts; k++) {
			seed = seed * 1103515245u + 12345u;
			fputs(pieces[(seed >> 16) % n_pieces], f);
		}
		fclose(f);
		struct dura_scenario sc;
		char err[1024] = "";
		int rc = dura_scenario_load(path, &sc, err, sizeof err);
		size_t pl = strlen(path);
		if (rc == 0)
			loaded++;
		else if (strncmp(err, path, pl) != 0 || err[pl] != ':' ||
		         !(err[pl + 1] >= '0' && err[pl + 1] <= '9')) {
			if (!bad)
				snprintf(first, sizeof first, "%s", err);
			bad++;
		}
		dura_scenario_free(&sc);
	}
	unlink(path);
	free(path);
	tap_ok(bad == 0 && loaded > 0, "hostile input: 1000 random files load (%d) or fail with PATH:LINE %s",
	       loaded, first);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/unit_scenario.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_good_full();
	test_good_minimal();
	test_good_crlf();
	test_bad_files();
	test_overlong_lines();
	test_reader();
	test_configs();
	test_expand();
	test_hostile();
	static const char *files[] = { "exact.ini", "exact-crlf.ini", "overlong.ini",
	                               "overlong-eof.ini", "nul.ini", NULL };
	for (size_t i = 0; files[i]; i++) {
		char *p = dura_xasprintf("%s/%s", tmpdir, files[i]);
		unlink(p);
		free(p);
	}
	rmdir(tmpdir);
	return tap_done();
}

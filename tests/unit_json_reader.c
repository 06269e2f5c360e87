/* The strict JSON reader on valid and hostile input (every input is copied
 * into a buffer of exactly its length, so the sanitizer build catches any
 * read past the end), plus what is built on it: the baseline loader and gate,
 * percent parsing, CSV quoting, SVG escaping and concurrent --track appends. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/json_reader.h"
#include "base/json_writer.h"
#include "report/report.h"
#include "report/report_baseline.h"
#include "tap.h"
#include "base/util.h"

/* Parses exactly len bytes of s from a heap copy with no terminator. */
static int parse_n(const char *s, size_t len, const struct dura_jlimits *lim,
                   struct dura_jval **out, char *err, size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, s, len);
	int rc = dura_jval_parse(copy, len, lim, out, err, errlen);
	free(copy);
	return rc;
}

static struct dura_jval *parse_ok(const char *s)
{
	struct dura_jval *v = NULL;
	char err[256] = "";
	if (parse_n(s, strlen(s), NULL, &v, err, sizeof err) != 0)
		tap_diag("unexpected error on %s: %s", s, err);
	return v;
}

static int rejects_n(const char *s, size_t len, const char *expect)
{
	struct dura_jval *v = NULL;
	char err[256] = "";
	int rc = parse_n(s, len, NULL, &v, err, sizeof err);
	if (rc == 0) {
		dura_jval_free(v);
		return 0;
	}
	if (v != NULL || !err[0] || (expect && !strstr(err, expect))) {
		tap_diag("error for input was: '%s' (expected '%s')", err, expect ? expect : "");
		return 0;
	}
	return 1;
}

static int rejects(const char *s, const char *expect)
{
	return rejects_n(s, strlen(s), expect);
}

static void test_valid(void)
{
	struct dura_jval *v;
	double d;

	v = parse_ok(" null ");
	tap_ok(v && v->type == DURA_JNULL, "null");
	dura_jval_free(v);
	v = parse_ok("true");
	tap_ok(v && v->type == DURA_JBOOL && v->u.boolean == 1, "true");
	dura_jval_free(v);
	v = parse_ok("\t\r\nfalse\n");
	tap_ok(v && v->type == DURA_JBOOL && v->u.boolean == 0, "false with whitespace");
	dura_jval_free(v);

	static const struct {
		const char *text;
		double value;
	} nums[] = {
		{ "0", 0 }, { "-0", 0 }, { "42", 42 }, { "-17", -17 }, { "1.5", 1.5 },
		{ "1.5e3", 1500 }, { "-2E-2", -0.02 }, { "1e+2", 100 }, { "0.000001", 1e-6 },
		{ "123456789012", 123456789012.0 }, { "1e-400", 0 } /* underflow is fine */,
	};
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		v = parse_ok(nums[i].text);
		tap_ok(v && dura_jval_number(v, &d) == 0 && fabs(d - nums[i].value) <= 1e-12 * fabs(nums[i].value),
		       "number %s", nums[i].text);
		dura_jval_free(v);
	}

	v = parse_ok("\"a\\nb\\t\\\"q\\\\\\/\\b\\f\\r\"");
	tap_ok(v && v->type == DURA_JSTRING && v->u.str.len == 11 &&
	       memcmp(v->u.str.s, "a\nb\t\"q\\/\b\f\r", 12) == 0, "simple escapes");
	dura_jval_free(v);
	v = parse_ok("\"\\u00e9\\u20AC\\ud83d\\ude00 \xc3\xa9\"");
	tap_ok(v && strcmp(dura_jval_string(v), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xc3\xa9") == 0,
	       "\\u escapes, surrogate pair and raw UTF-8 decode to UTF-8");
	dura_jval_free(v);
	v = parse_ok("\"\"");
	tap_ok(v && v->type == DURA_JSTRING && v->u.str.len == 0 && v->u.str.s[0] == '\0',
	       "empty string");
	dura_jval_free(v);

	v = parse_ok("{\"runs\": [ {\"p\": \"x\", \"n\": 1}, {\"p\": \"y\", \"n\": null} ],"
	             " \"e\": {}, \"a\": [], \"k\": 1, \"k\": 2}");
	const struct dura_jval *runs = dura_jval_get(v, "runs");
	tap_ok(v && v->type == DURA_JOBJECT && dura_jval_count(v) == 5, "object with 5 members");
	tap_ok(dura_jval_count(runs) == 2 &&
	       strcmp(dura_jval_string(dura_jval_get(dura_jval_at(runs, 1), "p")), "y") == 0,
	       "nested lookup");
	tap_ok(dura_jval_at(runs, 2) == NULL && dura_jval_get(runs, "p") == NULL &&
	       dura_jval_get(v, "missing") == NULL && dura_jval_at(v, 0) == NULL,
	       "out-of-range and wrong-type lookups give NULL");
	tap_ok(dura_jval_number(dura_jval_get(v, "k"), &d) == 0 && d == 1,
	       "duplicate key: the first wins");
	tap_ok(dura_jval_count(dura_jval_get(v, "e")) == 0 && dura_jval_count(dura_jval_get(v, "a")) == 0,
	       "empty object and array");
	tap_ok(dura_jval_number(dura_jval_get(dura_jval_at(runs, 1), "n"), &d) == -1,
	       "null is not a number");
	dura_jval_free(v);

	/* exactly at the depth limit */
	struct dura_jlimits lim = dura_jlimits_default;
	lim.max_depth = 8;
	char deep[64];
	memset(deep, '[', 8);
	memset(deep + 8, ']', 8);
	v = NULL;
	char err[256];
	int rc = parse_n(deep, 16, &lim, &v, err, sizeof err);
	tap_ok(rc == 0, "8 nested arrays accepted with max_depth 8");
	dura_jval_free(v);
	memset(deep, '[', 9);
	memset(deep + 9, ']', 9);
	rc = parse_n(deep, 18, &lim, &v, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "nesting deeper than 8"), "9 nested arrays refused");
}

/* Whatever the JSON writer produces, the reader reads back. */
static void test_writer_round_trip(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct dura_json j;
	dura_json_init(&j, f, 1);
	dura_json_begin_object(&j);
	dura_json_kv_string(&j, "ctl", "a\x01\x1f\x7f\"\\\n\r\tz");
	dura_json_kv_string(&j, "bad utf8", "x\xff\xc0\xafy");
	dura_json_kv_string(&j, "utf8", "\xe2\x82\xac");
	dura_json_kv_number(&j, "nan", NAN);
	dura_json_kv_number(&j, "pi", 3.14159265358979);
	dura_json_kv_uint(&j, "big", UINT64_C(18446744073709551615));
	dura_json_kv_int(&j, "neg", -5);
	dura_json_key(&j, "list");
	dura_json_begin_array(&j);
	dura_json_bool(&j, 1);
	dura_json_null(&j);
	dura_json_end_array(&j);
	dura_json_end_object(&j);
	fclose(f);
	struct dura_jval *v = parse_ok(buf);
	double d;
	tap_ok(v != NULL, "writer output parses");
	tap_ok(v && strcmp(dura_jval_string(dura_jval_get(v, "ctl")), "a\x01\x1f\x7f\"\\\n\r\tz") == 0,
	       "control characters and quotes round-trip");
	tap_ok(v && strcmp(dura_jval_string(dura_jval_get(v, "bad utf8")),
	                   "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy") == 0,
	       "invalid UTF-8 written as U+FFFD reads back as U+FFFD");
	tap_ok(v && dura_jval_get(v, "nan")->type == DURA_JNULL, "NaN written as null");
	tap_ok(v && dura_jval_number(dura_jval_get(v, "pi"), &d) == 0 && fabs(d - 3.14159265358979) < 1e-9,
	       "number round-trips");
	tap_ok(v && dura_jval_number(dura_jval_get(v, "big"), &d) == 0 && d > 1.8e19,
	       "uint64 max reads as a double");
	dura_jval_free(v);
	free(buf);
}

static void test_hostile(void)
{
	static const struct {
		const char *text;
		const char *expect;
	} bad[] = {
		{ "", "end of input" },
		{ "   \n ", "end of input" },
		{ "[", "end of input" },
		{ "{", "string key" },
		{ "[1,]", "unexpected ']'" },
		{ "{\"a\":1,}", "string key" },
		{ "[1 2]", "expected ',' or ']'" },
		{ "{\"a\" 1}", "expected ':'" },
		{ "{\"a\":1 \"b\":2}", "expected ',' or '}'" },
		{ "{a:1}", "string key" },
		{ "{1:1}", "string key" },
		{ "'x'", "unexpected" },
		{ "01", "leading zero" },
		{ "-", "expected a digit" },
		{ "-a", "expected a digit" },
		{ "1.", "after the decimal point" },
		{ ".5", "unexpected" },
		{ "1e", "exponent" },
		{ "1e+", "exponent" },
		{ "+1", "unexpected" },
		{ "NaN", "unexpected" },
		{ "Infinity", "unexpected" },
		{ "-Infinity", "expected a digit" },
		{ "1e999", "out of range" },
		{ "-1e999", "out of range" },
		{ "tru", "literal" },
		{ "nul", "literal" },
		{ "True", "unexpected" },
		{ "\"abc", "unterminated" },
		{ "\"abc\\", "unterminated" },
		{ "\"\\x\"", "invalid escape" },
		{ "\"\\u12\"", "\\u escape" },
		{ "\"\\u12x4\"", "hex digit" },
		{ "\"\\u12", "truncated" },
		{ "\"\\u00zz\"", "hex digit" },
		{ "\"\\u0000\"", "\\u0000" },
		{ "\"\\ud800\"", "high surrogate" },
		{ "\"\\ud800\\u0041\"", "followed by" },
		{ "\"\\udc00\"", "low surrogate" },
		{ "\"a\x01" "b\"", "control character" },
		{ "\"a\tb\"", "control character" },
		{ "\"\xc0\xaf\"", "UTF-8" },          /* overlong '/' */
		{ "\"\xed\xa0\x80\"", "UTF-8" },      /* encoded surrogate */
		{ "\"\xf5\x80\x80\x80\"", "UTF-8" },  /* above U+10FFFF */
		{ "\"\xe0\x80\x80\"", "UTF-8" },      /* overlong 3-byte */
		{ "\"\x80\"", "UTF-8" },              /* lone continuation */
		{ "\"\xe2\x82", "UTF-8" },            /* truncated at end of input */
		{ "\xef\xbb\xbf{}", "byte 0xef" },    /* BOM */
		{ "{} {}", "after the JSON value" },
		{ "{}x", "after the JSON value" },
		{ "/*c*/1", "unexpected '/'" },
		{ "[1]//", "after the JSON value" },
		{ "\x01", "byte 0x01" },
		{ "[\"a\",\n  tx]", "line 2, column 3" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		tap_ok(rejects(bad[i].text, bad[i].expect), "refuses %zu: %s", i,
		       bad[i].expect);

	tap_ok(rejects_n("[1]\0", 4, "byte 0x00"), "embedded NUL after the value is refused");
	tap_ok(rejects_n("\"a\0b\"", 5, "control character"), "NUL inside a string is refused");
	tap_ok(rejects_n("[1,2]", 3, "end of input"), "the length bounds the input, not a NUL");
	tap_ok(rejects_n("nul", 2, "literal"), "literal cut by the length");
	tap_ok(rejects_n("1e5", 2, "exponent"), "number cut by the length");

	/* very deep nesting: refused at the limit, no stack overflow */
	size_t n = 200000;
	char *deep = malloc(n);
	memset(deep, '[', n);
	tap_ok(rejects_n(deep, n, "nesting deeper than 64"), "200000 '[' refused by depth limit");
	free(deep);
	/* objects nest too: {"a":{"a":... 100 levels */
	struct dura_buf ob = { 0 };
	for (int i = 0; i < 100; i++)
		dura_buf_printf(&ob, "{\"a\":");
	dura_buf_printf(&ob, "1");
	for (int i = 0; i < 100; i++)
		dura_buf_printf(&ob, "}");
	tap_ok(rejects_n((const char *)ob.data, ob.len, "nesting deeper than 64"),
	       "100 nested objects refused by depth limit");
	dura_buf_free(&ob);

	struct dura_jlimits lim = dura_jlimits_default;
	lim.max_values = 10;
	struct dura_jval *v = NULL;
	char err[256];
	int rc = parse_n("[1,2,3,4,5,6,7,8,9]", 19, &lim, &v, err, sizeof err);
	tap_ok(rc == 0, "10 values accepted with max_values 10");
	dura_jval_free(v);
	rc = parse_n("[1,2,3,4,5,6,7,8,9,10]", 22, &lim, &v, err, sizeof err);
	tap_ok(rc == -1 && v == NULL && strstr(err, "more than 10 values"), "11 values refused");
	char longnum[80];
	memset(longnum, '1', sizeof longnum);
	rc = parse_n(longnum, 64, NULL, &v, err, sizeof err);
	tap_ok(rc == 0, "64-digit number accepted");
	dura_jval_free(v);
	rc = parse_n(longnum, 65, NULL, &v, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "longer than 64"), "65-digit number refused");
}

/* Every strict prefix of an object document is invalid; random corruption
 * never crashes (the sanitizer build checks every access). */
static void test_fuzz(void)
{
	const char *doc =
		"{\"durabench\":\"x\",\"runs\":[{\"provider\":\"p\\u00e9\",\"config\":\"1:1\","
		"\"orch_per_sec\":12.5,\"latency_ms\":{\"p99\":3e1},\"ok\":true,\"e\":null}],"
		"\"s\":\"\xe2\x82\xac\\ud83d\\ude00\"}";
	size_t len = strlen(doc);
	struct dura_jval *v = NULL;
	char err[256];
	tap_ok(parse_n(doc, len, NULL, &v, err, sizeof err) == 0, "fuzz seed parses");
	dura_jval_free(v);
	int prefixes_ok = 1;
	for (size_t k = 0; k < len; k++) {
		if (parse_n(doc, k, NULL, &v, err, sizeof err) == 0) {
			tap_diag("prefix of %zu bytes parsed", k);
			prefixes_ok = 0;
			dura_jval_free(v);
		}
	}
	tap_ok(prefixes_ok, "every strict prefix (%zu) is refused", len);

	char *buf = malloc(len);
	unsigned long seed = 12345;
	int parsed = 0, refused = 0;
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(buf, doc, len);
		int flips = 1 + iter % 4;
		for (int k = 0; k < flips; k++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			size_t pos = (size_t)(seed >> 33) % len;
			if (iter % 2)
				buf[pos] = (char)(seed >> 20);            /* random byte */
			else
				buf[pos] ^= (char)(1u << ((seed >> 40) % 8)); /* bit flip */
		}
		size_t cut = iter % 3 == 0 ? (size_t)(seed >> 45) % (len + 1) : len;
		if (parse_n(buf, cut, NULL, &v, err, sizeof err) == 0) {
			parsed++;
			dura_jval_free(v);
		} else {
			refused++;
		}
	}
	tap_ok(parsed + refused == 20000 && refused > 0,
	       "20000 corrupted inputs handled (%d parsed, %d refused)", parsed, refused);
	/* pure noise */
	int noise_ok = 1;
	for (int iter = 0; iter < 5000; iter++) {
		size_t n = (size_t)(iter % 97);
		for (size_t k = 0; k < n; k++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			static const char alphabet[] = "[]{}\",:0123456789.eE+-truefalsenul\\u \n\x80\xc3\xff";
			buf[k % len] = alphabet[(seed >> 33) % (sizeof alphabet - 1)];
		}
		if (parse_n(buf, n < len ? n : len, NULL, &v, err, sizeof err) == 0)
			dura_jval_free(v);
		else if (!err[0])
			noise_ok = 0;
	}
	tap_ok(noise_ok, "5000 JSON-alphabet noise inputs: no crash, every refusal explained");
	free(buf);
}

/* ---- the baseline gate and the writers built next to the reader ---- */

static void set_run(struct dura_report_run *r, const char *prov, unsigned o, unsigned w,
                    unsigned rep, double orch, double p99)
{
	memset(r, 0, sizeof *r);
	r->provider = prov;
	r->plugin = "sqlite";
	r->orch_workers = o;
	r->activity_workers = w;
	r->repeat_index = rep;
	r->ran = 1;
	struct dura_run_result *x = &r->result;
	x->launched = x->completed = x->verified = 100;
	x->success_pct = 100;
	x->orch_per_sec = orch;
	x->activities_per_sec = orch * 5;
	x->bound_orch_per_sec = 20.0 * w;
	x->bound_fraction = orch / x->bound_orch_per_sec;
	x->latency.count = 100;
	x->latency.avg_ms = x->latency.p50_ms = p99 / 2;
	x->latency.p95_ms = p99 * 0.9;
	x->latency.p99_ms = p99;
	x->latency.max_ms = p99 * 2;
}

static void init_report(struct dura_report *r, struct dura_report_run *runs, size_t n)
{
	memset(r, 0, sizeof *r);
	r->version = "durabench 9.9 (commit abc)";
	r->commit = "abc";
	r->cpus = 2;
	r->hostname = "host";
	r->started_at = 1700000000;
	r->runs = runs;
	r->n_runs = n;
}

static char *report_json_text(const struct dura_report *r)
{
	char path[] = "/tmp/unit_json_reader.XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char err[256];
	if (dura_report_json(r, path, err, sizeof err) != 0)
		tap_diag("json: %s", err);
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1 << 20);
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(path);
	return text;
}

static void test_baseline(void)
{
	struct dura_report_run runs[4];
	set_run(&runs[0], "a", 1, 1, 0, 100, 10);
	set_run(&runs[1], "b", 1, 1, 0, 50, 20);
	set_run(&runs[2], "a", 1, 1, 1, 120, 30); /* repeat of a 1:1 */
	set_run(&runs[3], "a", 2, 2, 0, 200, 10);
	runs[3].ran = 0;                            /* did not run: no figure */
	struct dura_report rep;
	init_report(&rep, runs, 4);

	char *text = report_json_text(&rep);
	struct dura_baseline b;
	char err[1024];
	int rc = dura_baseline_parse(text, strlen(text), "t.json", &b, err, sizeof err);
	tap_ok(rc == 0 && b.n == 3, "baseline from a JSON report: 3 pairs (%s)", rc ? err : "");
	tap_ok(rc == 0 && strcmp(b.entries[0].provider, "a") == 0 &&
	       strcmp(b.entries[0].config, "1:1") == 0 && b.entries[0].runs == 2 &&
	       fabs(b.entries[0].orch_per_sec - 110) < 1e-9 && fabs(b.entries[0].p99_ms - 20) < 1e-9,
	       "repeats averaged (orch 110, p99 20)");
	tap_ok(rc == 0 && isnan(b.entries[2].orch_per_sec) && b.entries[2].runs == 0,
	       "a run that did not run has no figure");
	tap_ok(rc == 0 && strcmp(b.source, "JSON report") == 0 && b.commit &&
	       strcmp(b.commit, "abc") == 0 && b.date && strcmp(b.date, "2023-11-14T22:13:20Z") == 0,
	       "source, commit and date read");
	free(text);

	/* the gate */
	struct dura_report_run cur_runs[3];
	set_run(&cur_runs[0], "a", 1, 1, 0, 87, 30);   /* 110 -> 87: -20.9 % */
	set_run(&cur_runs[1], "b", 1, 1, 0, 40, 20);   /* 50 -> 40: exactly -20 % */
	set_run(&cur_runs[2], "c", 1, 1, 0, 1, 1);     /* not in the baseline */
	struct dura_report cur;
	init_report(&cur, cur_runs, 3);
	struct dura_gate g = { .max_drop_pct = 20, .max_latency_rise_pct = -1 };
	struct dura_baseline_row *rows;
	size_t n = dura_baseline_compare(&cur, &b, &g, &rows);
	tap_ok(n == 2, "two pairs compared (c is not in the baseline)");
	tap_ok(n == 2 && rows[0].throughput_regressed && !rows[1].throughput_regressed,
	       "-20.9 %% is a regression at max-drop 20, exactly -20 %% is not");
	tap_ok(n == 2 && fabs(rows[0].orch_change_pct - (87.0 / 110 - 1) * 100) < 1e-9 &&
	       !rows[0].latency_regressed, "change computed; p99 not gated without the flag");
	char *md = NULL;
	size_t mdlen = 0;
	FILE *f = open_memstream(&md, &mdlen);
	dura_baseline_markdown(f, &cur, "t.json", &b, &g, rows, n);
	fclose(f);
	tap_ok(strstr(md, "### Baseline comparison") && strstr(md, "| a | 1:1 | 110.0 | 87.0 | -20.9 % |") &&
	       strstr(md, "REGRESSION (throughput)") && strstr(md, "Not compared") &&
	       strstr(md, "c 1:1"), "Markdown table and not-compared note");
	free(md);
	free(rows);
	g.max_latency_rise_pct = 40;                    /* a: p99 20 -> 30 = +50 % */
	n = dura_baseline_compare(&cur, &b, &g, &rows);
	tap_ok(n == 2 && rows[0].latency_regressed && !rows[1].latency_regressed,
	       "p99 rise of 50 %% is a regression at max-latency-rise 40");
	free(rows);

	struct dura_report none;
	init_report(&none, cur_runs + 2, 1);
	n = dura_baseline_compare(&none, &b, &g, &rows);
	tap_ok(n == 0, "no overlap gives no rows");
	free(rows);
	dura_baseline_free(&b);

	/* a --track history: the last entry counts */
	runs[3].ran = 1;
	char *l1 = dura_report_track_line(&rep);
	runs[0].result.orch_per_sec = 1000;
	runs[2].result.orch_per_sec = 1000;
	char *l2 = dura_report_track_line(&rep);
	tap_ok(!strchr(l1, '\n') && !strchr(l2, '\n'), "track entries are single lines");
	char *hist = dura_xasprintf("%s\n%s\n\n", l1, l2);
	rc = dura_baseline_parse(hist, strlen(hist), "h.jsonl", &b, err, sizeof err);
	tap_ok(rc == 0 && b.n == 3 && fabs(b.entries[0].orch_per_sec - 1000) < 1e-9 &&
	       strstr(b.source, "line 2") && fabs(b.entries[2].orch_per_sec - 200) < 1e-9,
	       "history: last entry used (%s)", rc ? err : b.source);
	dura_baseline_free(&b);
	rc = dura_baseline_parse(l1, strlen(l1), "h.jsonl", &b, err, sizeof err);
	tap_ok(rc == 0 && b.n == 3 && fabs(b.entries[0].orch_per_sec - 110) < 1e-9,
	       "history of one entry");
	dura_baseline_free(&b);
	free(hist);

	hist = dura_xasprintf("%s\n%.*s\n", l1, (int)(strlen(l2) / 2), l2);
	rc = dura_baseline_parse(hist, strlen(hist), "h.jsonl", &b, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "line 2"), "truncated last entry refused: %s", err);
	free(hist);
	hist = dura_xasprintf("%s\n{\"runs\":[]}\n", l1);
	rc = dura_baseline_parse(hist, strlen(hist), "h.jsonl", &b, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "not a --track entry"), "foreign last line refused: %s", err);
	free(hist);
	free(l1);
	free(l2);

	static const char *const bad[] = {
		"", "  \n", "[1,2]", "{\"a\":1}", "{\"durabench\":\"x\"}",
		"{\"durabench\":\"x\",\"runs\":[{\"config\":\"1:1\"}]}",
		"{\"durabench\":\"x\",\"runs\":[{\"provider\":\"a\",\"config\":\"1:1\",\"orch_per_sec\":\"fast\"}]}",
		"{\"format\":\"durabench-track/9\",\"runs\":[]}", "{\"durabench\":", "garbage",
		"{\n\"durabench\":\n\"3.40\"\n", /* cut report whose last line is valid JSON */
	};
	int all = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (dura_baseline_parse(bad[i], strlen(bad[i]), "x", &b, err, sizeof err) == 0) {
			tap_diag("accepted bad baseline %zu", i);
			dura_baseline_free(&b);
			all = 0;
		}
	}
	tap_ok(all, "malformed baselines refused");
	rc = dura_baseline_load("/nonexistent/durabench.json", &b, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "No such file"), "missing file: %s", err);
	rc = dura_baseline_load("/tmp", &b, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, "not a regular file"), "directory refused");
}

static void test_percent(void)
{
	double v;
	char err[128];
	tap_ok(dura_parse_percent("20", 100, &v, err, sizeof err) == 0 && v == 20, "percent 20");
	tap_ok(dura_parse_percent("20%", 100, &v, err, sizeof err) == 0 && v == 20, "percent 20%%");
	tap_ok(dura_parse_percent("12.5 %", 100, &v, err, sizeof err) == 0 && v == 12.5,
	       "percent 12.5 %%");
	tap_ok(dura_parse_percent("250", -1, &v, err, sizeof err) == 0 && v == 250,
	       "no upper bound with max < 0");
	static const char *const bad[] = { "", "abc", "-5", "20%%", "inf", "nan", " 20", "0x10",
	                                   "20x", "101", "1e999" };
	int all = 1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (dura_parse_percent(bad[i], 100, &v, err, sizeof err) == 0) {
			tap_diag("accepted '%s'", bad[i]);
			all = 0;
		}
	tap_ok(all, "bad percentages refused");
}

static char *capture(void (*fn)(FILE *, const struct dura_report *), const struct dura_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f, r);
	fclose(f);
	return buf;
}

static void test_csv_svg(void)
{
	struct dura_report_run runs[2];
	set_run(&runs[0], "we,\"ird\"", 1, 1, 0, 12.5, 10);
	set_run(&runs[1], "<x&y>", 2, 2, 0, 25, 10);
	runs[1].ran = 0;
	struct dura_report r;
	init_report(&r, runs, 2);
	char *csv = capture(dura_report_csv_write, &r);
	tap_ok(strncmp(csv, "provider,plugin,config,orch_workers,", 36) == 0 &&
	       strstr(csv, "drain_ms\r\n"), "CSV header with CRLF");
	tap_ok(strstr(csv, "\r\n\"we,\"\"ird\"\"\",sqlite,1:1,1,1,0,100,100,") != NULL,
	       "CSV field with comma and quotes is quoted, quotes doubled");
	tap_ok(strstr(csv, "\r\n<x&y>,sqlite,2:2,2,2,0,100,100,0,0,0,0,0,,,,,") != NULL,
	       "a run that did not run has empty figures");
	free(csv);
	char *svg = capture(dura_report_svg_write, &r);
	tap_ok(strstr(svg, "&lt;x&amp;y&gt;") && !strstr(svg, "<x&y>") &&
	       strstr(svg, "we,&quot;ird&quot;"), "SVG escapes names");
	tap_ok(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") && strstr(svg, "</svg>\n") &&
	       strstr(svg, ">12.5</text>") && strstr(svg, ">n/a</text>"),
	       "SVG has root, value label and n/a for the missing bar");
	free(svg);
}

/* Several processes append to one history at once: every line intact. */
static void test_track_concurrent(void)
{
	struct dura_report_run runs[1];
	set_run(&runs[0], "a", 1, 1, 0, 10, 10);
	struct dura_report r;
	init_report(&r, runs, 1);
	char path[] = "/tmp/unit_track.XXXXXX";
	int fd = mkstemp(path);
	/* a previous writer died mid-line: the next entry must still start on
	 * its own line */
	if (write(fd, "{\"format\":\"durabench-tr", 23) != 23)
		tap_diag("write failed");
	close(fd);
	enum { PROCS = 4, EACH = 25 };
	pid_t pids[PROCS];
	for (int p = 0; p < PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			char err[256];
			for (int k = 0; k < EACH; k++)
				if (dura_report_track(&r, path, err, sizeof err) != 0)
					_exit(1);
			_exit(0);
		}
	}
	int children_ok = 1;
	for (int p = 0; p < PROCS; p++) {
		int st;
		waitpid(pids[p], &st, 0);
		children_ok &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	tap_ok(children_ok, "%d processes appended %d entries each", PROCS, EACH);
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lines = 0, good = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		lines++;
		struct dura_jval *v = NULL;
		char err[256];
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (dura_jval_parse(line, (size_t)len, NULL, &v, err, sizeof err) == 0 &&
		    strcmp(dura_jval_string(dura_jval_get(v, "format")), "durabench-track/1") == 0)
			good++;
		dura_jval_free(v);
	}
	free(line);
	fclose(f);
	tap_ok(lines == 1 + PROCS * EACH && good == PROCS * EACH,
	       "history has the broken line plus %d intact entries (%d lines, %d good)",
	       PROCS * EACH, lines, good);
	struct dura_baseline b;
	char err[1024];
	int rc = dura_baseline_load(path, &b, err, sizeof err);
	tap_ok(rc == 0 && b.n == 1, "the history loads as a baseline (%s)", rc ? err : "ok");
	dura_baseline_free(&b);
	unlink(path);
}

int main(void)
{
	test_valid();
	test_writer_round_trip();
	test_hostile();
	test_fuzz();
	test_baseline();
	test_percent();
	test_csv_svg();
	test_track_concurrent();
	return tap_done();
}

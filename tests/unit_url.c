/* libpq addresses: endpoint extraction, host/port rewriting, password
 * masking, and hostile input (no crash, and every successful rewrite really
 * points at the new endpoint). */
#include "config.h"

#include "base/mask.h"
#include "base/url.h"
#include "base/util.h"

#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* A copy for test names: control characters would break the TAP stream. */
static const char *shown(const char *s)
{
	static char buf[4][512];
	static int next;
	char *b = buf[next++ % 4];
	if (!s)
		return "(null)";
	size_t i = 0;
	for (; s[i] && i < sizeof buf[0] - 1; i++)
		b[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	b[i] = '\0';
	return b;
}

static void clear_env(void)
{
	unsetenv("PGHOST");
	unsetenv("PGPORT");
	unsetenv("PGHOSTADDR");
}

static void endpoint_ok(const char *url, const char *want_host, int want_port)
{
	char host[256] = "", err[512] = "";
	int port = -1;
	int rc = dura_url_endpoint(url, host, sizeof host, &port, err, sizeof err);
	tap_ok(rc == 0 && strcmp(host, want_host) == 0 && port == want_port,
	       "endpoint '%s' -> %s:%d (got rc=%d %s:%d %s)", shown(url), want_host,
	       want_port, rc, host, port, err);
}

static void endpoint_err(const char *url, const char *want)
{
	char host[256] = "", err[512] = "";
	int port = -1;
	int rc = dura_url_endpoint(url, host, sizeof host, &port, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, want), "endpoint '%s' refused: %s", shown(url), err);
}

static void test_endpoint(void)
{
	clear_env();
	endpoint_ok("postgresql://u:p@db.example.com:6432/bench", "db.example.com", 6432);
	endpoint_ok("postgres://db", "db", 5432);
	endpoint_ok("postgresql://10.1.2.3", "10.1.2.3", 5432);
	endpoint_ok("postgresql://[::1]:5433/x", "::1", 5433);
	endpoint_ok("postgresql://u:p@[2001:db8::1]/x?sslmode=disable", "2001:db8::1", 5432);
	endpoint_ok("postgresql://u@h:/db", "h", 5432);
	endpoint_ok("postgresql://my%2Dhost/db", "my-host", 5432);
	endpoint_ok("postgresql://u:p%40ss@h:1/db", "h", 1);
	endpoint_ok("postgresql://u:pa@ss@h:2/db", "h", 2); /* unencoded '@' in the password */
	endpoint_ok("postgresql:///db?host=remote&port=7000", "remote", 7000);
	endpoint_ok("postgresql://a:1/db?host=b", "b", 1);
	endpoint_ok("postgresql://a/db?hostaddr=10.0.0.9&port=6000", "10.0.0.9", 6000);
	endpoint_ok("postgresql://a/db?host=x&host=y", "y", 5432);
	endpoint_ok("postgresql://h?port=6543", "h", 6543);
	endpoint_ok("postgresql://", "localhost", 5432);
	endpoint_ok("host=h1 port=5444 dbname=x", "h1", 5444);
	endpoint_ok("  host = h2\tport =\n5445  ", "h2", 5445);
	endpoint_ok("host='h3' port='5446' password='it\\'s \\\\ x'", "h3", 5446);
	endpoint_ok("dbname=x host=a host=b", "b", 5432);
	endpoint_ok("hostaddr=192.168.0.5 host=name", "192.168.0.5", 5432);
	endpoint_ok("dbname=bench", "localhost", 5432);
	endpoint_ok("", "localhost", 5432);
	endpoint_ok(NULL, "localhost", 5432);

	setenv("PGHOST", "envhost", 1);
	setenv("PGPORT", "6543", 1);
	endpoint_ok("", "envhost", 6543);
	endpoint_ok("dbname=x", "envhost", 6543);
	endpoint_ok("postgresql:///db", "envhost", 6543);
	endpoint_ok("postgresql://given/db", "given", 6543);
	endpoint_ok("host=given port=1", "given", 1);
	setenv("PGHOSTADDR", "10.9.8.7", 1);
	endpoint_ok("host=given", "10.9.8.7", 6543);
	endpoint_ok("host=given hostaddr=10.1.1.1", "10.1.1.1", 6543);
	setenv("PGHOST", "/var/run/postgresql", 1);
	unsetenv("PGHOSTADDR");
	endpoint_err("", "Unix-domain socket");
	setenv("PGHOST", "h", 1);
	setenv("PGPORT", "abc", 1);
	endpoint_err("", "bad port 'abc'");
	clear_env();

	endpoint_err("postgresql://%2Fvar%2Frun%2Fpostgresql/db", "'/var/run/postgresql' is a Unix-domain socket");
	endpoint_err("postgresql:///db?host=/tmp", "Unix-domain socket");
	endpoint_err("host=/var/run/postgresql", "cannot be proxied");
	endpoint_err("host=@abstract", "Unix-domain socket");
	endpoint_err("postgresql://h1,h2/db", "several hosts");
	endpoint_err("postgresql://h1:5432,h2:5433/db", "several hosts");
	endpoint_err("host=h1,h2", "several hosts");
	endpoint_err("host=h port=1,2", "several hosts");
	endpoint_err("postgresql://h:99999/db", "bad port '99999'");
	endpoint_err("postgresql://h:0/db", "bad port '0'");
	endpoint_err("postgresql://h:12ab/db", "bad port '12ab'");
	endpoint_err("port=-1", "bad port");
	endpoint_err("service=mydb", "pg_service.conf");
	endpoint_err("http://example.com", "missing '='");
	endpoint_err("just words", "missing '='");
	endpoint_err("=x", "missing key");
	endpoint_err("postgresql://[::1/db", "unterminated '['");
	endpoint_err("postgresql://[::1]x/db", "unexpected 'x' after the host");
	endpoint_err("postgresql://h/db?x", "has no '='");
	endpoint_err("postgresql://h/db?a=1&&b=2", "has no '='");
	endpoint_err("postgresql://h/db?a=b=c", "two '='");
	endpoint_err("host='unterminated", "unterminated quoted value of 'host'");
	endpoint_err("postgresql://h%zz/db", "bad percent-encoding");
	endpoint_err("postgresql://h%00/db", "bad percent-encoding");
	endpoint_err("postgresql://h/db?password=%4", "bad percent-encoding");

	char small[4], err[256];
	int port;
	tap_ok(dura_url_endpoint("host=longname", small, sizeof small, &port, err, sizeof err) == -1 &&
	       strstr(err, "too long"), "endpoint: a host longer than the buffer is refused");
	/* error texts must not echo passwords */
	tap_ok(dura_url_endpoint("host=h password=two words", small, sizeof small, &port, err, sizeof err) == -1 &&
	       !strstr(err, "words"), "endpoint: a parse error does not echo the text (%s)", err);
	tap_ok(dura_url_endpoint("postgresql://h/db?password=SEK%zzRIT", small, sizeof small, &port, err, sizeof err) == -1 &&
	       !strstr(err, "SEK"), "endpoint: a bad escape does not echo the password (%s)", err);
}

static void rewrite_is(const char *url, const char *host, int port, const char *want)
{
	char err[512] = "";
	char *got = dura_url_rewrite(url, host, port, err, sizeof err);
	tap_ok(got && strcmp(got, want) == 0, "rewrite '%s' -> '%s' (got '%s' %s)", shown(url),
	       shown(want), shown(got ? got : "NULL"), err);
	/* and the result points where it should */
	if (got) {
		char h[256] = "";
		int p = 0;
		int rc = dura_url_endpoint(got, h, sizeof h, &p, err, sizeof err);
		tap_ok(rc == 0 && strcmp(h, host) == 0 && p == port, "  ... which points at %s:%d", host,
		       port);
	}
	free(got);
}

static void rewrite_err(const char *url, const char *host, int port, const char *want)
{
	char err[512] = "";
	char *got = dura_url_rewrite(url, host, port, err, sizeof err);
	tap_ok(!got && strstr(err, want), "rewrite '%s' refused: %s", shown(url), err);
	free(got);
}

static void test_rewrite(void)
{
	clear_env();
	const char *lo = "127.0.0.1";
	rewrite_is("postgresql://u:p@db.example.com:6432/bench?sslmode=require", lo, 7777,
	           "postgresql://u:p@127.0.0.1:7777/bench?sslmode=require");
	rewrite_is("postgresql://db/bench", lo, 7777, "postgresql://127.0.0.1:7777/bench");
	rewrite_is("postgres://u@db", lo, 7777, "postgres://u@127.0.0.1:7777");
	rewrite_is("postgresql://", lo, 7777, "postgresql://127.0.0.1:7777");
	rewrite_is("postgresql:///bench", lo, 7777, "postgresql://127.0.0.1:7777/bench");
	rewrite_is("postgresql://u:p@/bench", lo, 7777, "postgresql://u:p@127.0.0.1:7777/bench");
	rewrite_is("postgresql://h:/db", lo, 7777, "postgresql://127.0.0.1:7777/db");
	rewrite_is("postgresql://[::1]:5432/x", lo, 7777, "postgresql://127.0.0.1:7777/x");
	rewrite_is("postgresql://db:5432/x", "::1", 7777, "postgresql://[::1]:7777/x");
	rewrite_is("postgresql://u:p%40ss@h/db?application_name=a%20b&x=1", lo, 1,
	           "postgresql://u:p%40ss@127.0.0.1:1/db?application_name=a%20b&x=1");
	rewrite_is("postgresql:///db?host=remote&port=7000&x=1", lo, 7777,
	           "postgresql:///db?host=127.0.0.1&port=7777&x=1");
	rewrite_is("postgresql:///db?host=remote", lo, 7777, "postgresql:///db?host=127.0.0.1&port=7777");
	rewrite_is("postgresql://a:1/db?host=b&hostaddr=10.0.0.1", lo, 7777,
	           "postgresql://127.0.0.1:7777/db?host=127.0.0.1&hostaddr=127.0.0.1");
	rewrite_is("postgresql://a/db?", lo, 7777, "postgresql://127.0.0.1:7777/db?");
	rewrite_is("postgresql://a?port=1", lo, 7777, "postgresql://127.0.0.1?port=7777");
	rewrite_is("host=db port=6432 dbname=bench password='a b'", lo, 7777,
	           "host=127.0.0.1 port=7777 dbname=bench password='a b'");
	rewrite_is("dbname=bench", lo, 7777, "dbname=bench host=127.0.0.1 port=7777");
	rewrite_is("dbname=bench ", lo, 7777, "dbname=bench host=127.0.0.1 port=7777");
	rewrite_is("", lo, 7777, "host=127.0.0.1 port=7777");
	rewrite_is(NULL, lo, 7777, "host=127.0.0.1 port=7777");
	rewrite_is("  host = 'db'  port = 1 ", lo, 7777, "  host = '127.0.0.1'  port = 7777 ");
	rewrite_is("hostaddr=''dbname=x", lo, 7777, "hostaddr='127.0.0.1'dbname=x host=127.0.0.1 port=7777");
	rewrite_is("hostaddr=10.0.0.1 dbname=x", lo, 7777,
	           "hostaddr=127.0.0.1 dbname=x host=127.0.0.1 port=7777");
	rewrite_is("host=a user=u host=b", lo, 5, "host=127.0.0.1 user=u host=127.0.0.1 port=5");
	rewrite_is("host=a password=x\\ y port=1", "my host", 2,
	           "host='my host' password=x\\ y port=2");
	rewrite_is("service=foo", lo, 9, "service=foo host=127.0.0.1 port=9");
	setenv("PGHOSTADDR", "10.9.8.7", 1);
	rewrite_is("postgresql:///db?", lo, 7777, "postgresql://127.0.0.1:7777/db?hostaddr=127.0.0.1");
	rewrite_is("postgresql://h", lo, 7777, "postgresql://127.0.0.1:7777?hostaddr=127.0.0.1");
	rewrite_is("dbname=x", lo, 7777, "dbname=x host=127.0.0.1 port=7777 hostaddr=127.0.0.1");
	rewrite_err("dbname=x", "localhost", 7777, "must be numeric");
	clear_env();

	rewrite_err("postgresql://a,b/db", lo, 1, "several hosts");
	rewrite_err("host=a,b", lo, 1, "several hosts");
	rewrite_err("postgresql://h/db?x", lo, 1, "has no '='");
	rewrite_err("hostaddr=1.2.3.4", "localhost", 1, "must be numeric");
	rewrite_err("nonsense", lo, 1, "missing '='");
	rewrite_err("host=h", lo, 0, "1..65535");
	rewrite_err("host=h", lo, 70000, "1..65535");
	rewrite_err("host=h", "", 1, "need a host");
	rewrite_err("host=h", NULL, 1, "need a host");
	rewrite_err("dbname=x\\", lo, 1, "lone '\\'");
	rewrite_is("host=h port=2 dbname=x\\", lo, 1, "host=127.0.0.1 port=1 dbname=x\\");
	rewrite_is("host=h dbname=", lo, 1, "host=127.0.0.1 dbname='' port=1");
	rewrite_is("dbname=  ", lo, 1, "dbname=  '' host=127.0.0.1 port=1");
	rewrite_is("port=", lo, 1, "port=1 host=127.0.0.1");
	rewrite_is("dbname=a\\ ", lo, 1, "dbname=a\\  host=127.0.0.1 port=1");
	rewrite_is("dbname='a' ", lo, 1, "dbname='a' host=127.0.0.1 port=1");
	rewrite_is("dbname='a'", lo, 1, "dbname='a' host=127.0.0.1 port=1");
}

static void mask_is(const char *url, const char *want)
{
	char *got = dura_url_mask(url);
	tap_ok(got && strcmp(got, want) == 0, "mask '%s' -> '%s' (got '%s')", shown(url),
	       shown(want), shown(got ? got : "NULL"));
	free(got);
}

static void test_mask(void)
{
	mask_is("postgresql://u:SEKRIT@h/db", "postgresql://u:***@h/db");
	mask_is("postgres://u:SEKRIT@h", "postgres://u:***@h");
	mask_is("postgresql://u@h/db", "postgresql://u@h/db");
	mask_is("postgresql://h:5432/db", "postgresql://h:5432/db");
	mask_is("postgresql://u:p%40SEKRIT@h:5432/db?sslmode=require&password=SEKRIT2&application_name=a",
	        "postgresql://u:***@h:5432/db?sslmode=require&password=***&application_name=a");
	mask_is("postgresql://h:5432/db?user=me@srv&password=SEKRIT",
	        "postgresql://h:5432/db?user=me@srv&password=***");
	mask_is("postgresql://u:pa@SEKRIT@h/db", "postgresql://u:***@h/db");
	mask_is("postgresql://u:pa?SEKRIT@h/db", "postgresql://u:***@h/db");
	mask_is("postgresql://u:pa/SEKRIT@h/db", "postgresql://u:***@h/db");
	mask_is("postgresql://u:pa?SE=KRIT@h/db?password=x", "postgresql://u:***@h/db?password=***");
	mask_is("postgresql://h/db?password=a&SEKRIT&c=d", "postgresql://h/db?password=***&***&c=d");
	mask_is("postgresql://h/db?sslpassword=SEKRIT", "postgresql://h/db?sslpassword=***");
	mask_is("postgresql://h/db?PASSWORD=SEKRIT", "postgresql://h/db?PASSWORD=***");
	mask_is("postgresql://h/db?pass%77ord=SEKRIT", "postgresql://h/db?pass%77ord=***");
	mask_is("postgresql://h/db?password=", "postgresql://h/db?password=***");
	mask_is("postgresql://h/db?a=1&", "postgresql://h/db?a=1&");
	mask_is("POSTGRESQL://u:SEKRIT@h", "POSTGRESQL://u:***@h");
	mask_is("host=h password=SEKRIT dbname=x", "host=h password=*** dbname=x");
	mask_is("password='SE KRIT' host=h", "password=*** host=h");
	mask_is("password = 'a\\'SEKRIT' user=u", "password = *** user=u");
	mask_is("password=SE\\ KRIT user=u", "password=*** user=u");
	mask_is("host=h password='SEKRIT", "host=h password=***");
	mask_is("sslpassword=SEKRIT", "sslpassword=***");
	mask_is("garbage password=SEKRIT more", "garbage password=*** more");
	mask_is("host=h junk password =SEKRIT", "host=h junk password =***");
	mask_is("dbname=postgresql://u:SEKRIT@h/db", "dbname=postgresql://u:***@h/db");
	mask_is("user=password_admin", "user=password_admin");
	mask_is("auto", "auto");
	mask_is(":memory:", ":memory:");
	mask_is("", "");
	mask_is(NULL, "");
}

static void text_mask_is(const char *text, const char *want)
{
	char *got = dura_text_mask(text);
	tap_ok(strcmp(got, want) == 0, "text mask '%s' -> '%s' (got '%s')", shown(text),
	       shown(want), shown(got));
	free(got);
}

/* Free text: addresses of any scheme, cut or quoted, and key=value pairs,
 * found by pattern alone (nothing noted yet). */
static void test_text_mask(void)
{
	text_mask_is("x mysql://u:pw@h/db y", "x mysql://u:***@h/db y");
	text_mask_is("redis://:pw@h", "redis://:***@h");
	text_mask_is("URI: \"postgresql://b:se@cr/et@[::1:5/db\" end",
	             "URI: \"postgresql://b:***@[::1:5/db\" end");
	text_mask_is("{\"url\":\"amqp://u:p\\\"w@h\"}", "{\"url\":\"amqp://u:***@h\"}");
	text_mask_is("a password='x y' b", "a password='***' b");
	text_mask_is("PassWord = x&b=1", "PassWord = ***&b=1");
	text_mask_is("?sslpassword=abc&x", "?sslpassword=***&x");
	text_mask_is("{\"password\": \"abc\"}", "{\"password\": \"***\"}");
	text_mask_is("no password supplied; mypassword=x", "no password supplied; mypassword=x");
	text_mask_is("http://example.com/a@b ok", "http://example.com/a@b ok");
	text_mask_is("", "");
	text_mask_is(NULL, "");

	/* Noted secrets: hidden anywhere, as a whole, %-decoded and in pieces. */
	dura_secret_note("postgresql://u:Nt%21ed/Piece@h/db");
	text_mask_is("token: \"Nt%21ed/Piece\"", "token: \"***\"");
	text_mask_is("decoded Nt!ed/Piece", "decoded ***");
	text_mask_is("port \"Nt%21ed\", db Piece@h", "port \"***\", db ***@h");
	dura_secret_note("host=h password='with space'");
	text_mask_is("bad: with space", "bad: ***");
	dura_secret_note("pw=ab"); /* shorter than DURA_SECRET_MIN_LEN: patterns only */
	text_mask_is("about", "about");

	/* Random text never crashes and never grows a secret. */
	unsigned seed = 777;
	int fine = 1;
	for (int iter = 0; iter < 5000; iter++) {
		char t[128];
		size_t len = 0;
		seed = seed * 1103515245u + 12345u;
		int parts = (int)((seed >> 16) % 10);
		static const char *bits[] = { "x://", ":", "@", "password", "=", "'", "\"", " ",
		                              "\\", "pw", "&", "Piece", "/", "\n" };
		for (int k = 0; k < parts; k++) {
			seed = seed * 1103515245u + 12345u;
			const char *b = bits[(seed >> 16) % (sizeof bits / sizeof bits[0])];
			if (len + strlen(b) >= sizeof t)
				break;
			memcpy(t + len, b, strlen(b));
			len += strlen(b);
		}
		t[len] = '\0';
		char *m = dura_text_mask(t);
		if (strstr(m, "Piece"))
			fine = 0;
		free(m);
	}
	tap_ok(fine, "text mask: 5000 random texts, no crash, a noted secret never shown");
}

/* Random strings over an alphabet of the characters that matter. */
static void test_hostile(void)
{
	static const char *pieces[] = {
		"postgresql://", "postgres://", "u", ":", "@", "/", "?", "&", "=", "[", "]", "%",
		"%4", "%41", "%00", "'", "\\", " ", "\t", ",", "host", "hostaddr", "port", "password",
		"sslpassword", "service", "db", "::1", "127.0.0.1", "5432", "99999", "x", "\"", "#",
		"\xff", "\n",
	};
	const size_t n_pieces = sizeof pieces / sizeof pieces[0];
	unsigned seed = 12345;
	int crashes_none = 1, roundtrip_ok = 1, rewrites = 0;
	char failed[1024] = "";
	clear_env();
	for (int iter = 0; iter < 20000; iter++) {
		char s[256];
		size_t len = 0;
		seed = seed * 1103515245u + 12345u;
		int parts = (int)((seed >> 16) % 12);
		for (int k = 0; k < parts; k++) {
			seed = seed * 1103515245u + 12345u;
			const char *p = pieces[(seed >> 16) % n_pieces];
			size_t pl = strlen(p);
			if (len + pl >= sizeof s)
				break;
			memcpy(s + len, p, pl);
			len += pl;
		}
		s[len] = '\0';
		char host[64], err[256];
		int port;
		(void)dura_url_endpoint(s, host, sizeof host, &port, err, sizeof err);
		char *m = dura_url_mask(s);
		if (!m)
			crashes_none = 0;
		free(m);
		char *r = dura_url_rewrite(s, "127.0.0.1", 7777, err, sizeof err);
		if (r) {
			rewrites++;
			if (dura_url_endpoint(r, host, sizeof host, &port, err, sizeof err) != 0 ||
			    strcmp(host, "127.0.0.1") != 0 || port != 7777) {
				if (roundtrip_ok)
					snprintf(failed, sizeof failed, "'%s' -> '%s' (%s)", shown(s),
					         shown(r), err);
				roundtrip_ok = 0;
			}
		}
		free(r);
	}
	tap_ok(crashes_none, "hostile input: 20000 random strings, no crash, mask never NULL");
	tap_ok(roundtrip_ok && rewrites > 1000,
	       "hostile input: every successful rewrite (%d) points at the new endpoint %s", rewrites,
	       failed);
}

/* Well-formed addresses with a password somewhere: the mask never shows it. */
static void test_mask_property(void)
{
	static const char *url_params[] = {
		"sslmode=require", "password=SEKRIT", "sslpassword=SEKRIT", "application_name=a%20b",
		"user=me@srv", "password=SE%26KRIT", "host=h2", "port=5", "options=-c%20x%3Dy",
	};
	static const char *pairs[] = {
		"host=h", "password=SEKRIT", "password='SE KRIT'", "user=u", "dbname='my db'",
		"password = SEKRIT", "sslpassword=SEKRIT", "password=SE\\ KRIT", "port=5",
		"application_name='it\\'s'", "password='SE\\'KRIT'",
	};
	unsigned seed = 777;
	int leaks = 0;
	char leaked[600] = "";
	for (int iter = 0; iter < 5000; iter++) {
		struct dura_buf b = { 0 };
		seed = seed * 1103515245u + 12345u;
		unsigned r = seed >> 8;
		if (r & 1) {
			dura_buf_printf(&b, "%s", (r & 2) ? "postgresql://" : "postgres://");
			if (r & 4)
				dura_buf_printf(&b, "%s@", (r & 8) ? "u:SEKRIT" : "u");
			dura_buf_printf(&b, "%s", (r & 16) ? "db.example.com" : "[::1]");
			if (r & 32)
				dura_buf_printf(&b, ":6432");
			if (r & 64)
				dura_buf_printf(&b, "/bench");
			int n = (int)((r >> 7) % 4);
			for (int k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				dura_buf_printf(&b, "%s%s", k ? "&" : "?",
				                url_params[(seed >> 8) % (sizeof url_params / sizeof url_params[0])]);
			}
		} else {
			int n = 1 + (int)((r >> 1) % 5);
			for (int k = 0; k < n; k++) {
				seed = seed * 1103515245u + 12345u;
				dura_buf_printf(&b, "%s%s", k ? ((seed >> 20) & 1 ? "  " : " ") : "",
				                pairs[(seed >> 8) % (sizeof pairs / sizeof pairs[0])]);
			}
		}
		dura_buf_append(&b, "", 1);
		char *m = dura_url_mask((char *)b.data);
		if (strstr(m, "KRIT")) {
			if (!leaks)
				snprintf(leaked, sizeof leaked, "'%s' -> '%s'", shown((char *)b.data), shown(m));
			leaks++;
		}
		free(m);
		dura_buf_free(&b);
	}
	tap_ok(leaks == 0, "mask: 5000 generated URLs and conninfo strings never show a password %s",
	       leaked);
}

int main(void)
{
	test_endpoint();
	test_rewrite();
	test_mask();
	test_mask_property();
	test_hostile();
	test_text_mask();
	return tap_done();
}

/*
 * The delay proxy's view of provider addresses (core/services/
 * address_rewrite.c): endpoint and rewrite for URLs of any scheme, bare
 * host:port, and libpq addresses (parsed by libpq; rewritten keeping host
 * and setting hostaddr + port), the masking of every rewritten form, and
 * which local server url = auto means for a plugin.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mask.h"
#include "services/address_resolve.h"
#include "services/address_rewrite.h"
#include "tap.h"

static void endpoint_is(const char *addr, const char *want_host, int want_port)
{
	char host[256] = "", err[256] = "";
	int port = 0;
	int rc = dura_address_endpoint(addr, host, sizeof host, &port, err, sizeof err);
	tap_ok(rc == 0 && strcmp(host, want_host) == 0 && port == want_port,
	       "endpoint of '%s' is %s:%d (got %s:%d%s%s)", addr, want_host, want_port, host, port,
	       rc ? ", error: " : "", rc ? err : "");
}

static void endpoint_refused(const char *addr, const char *why)
{
	char host[256], err[256] = "";
	int port;
	int rc = dura_address_endpoint(addr, host, sizeof host, &port, err, sizeof err);
	tap_ok(rc == -1 && strstr(err, why), "endpoint of '%s' refused: '%s' (got: %s)", addr, why,
	       err);
}

static void rewrite_is(const char *addr, const char *want)
{
	char err[256] = "";
	char *got = dura_address_rewrite(addr, "127.0.0.1", 40001, err, sizeof err);
	tap_ok(got && strcmp(got, want) == 0, "rewrite of '%s' is '%s' (got '%s'%s)", addr, want,
	       got ? got : "NULL", got ? "" : err);
	free(got);
}

/* The rewritten address names the proxy, and its password stays masked. */
static void rewrite_masked(const char *addr, const char *password)
{
	char err[256] = "", host[256] = "";
	int port = 0;
	char *got = dura_address_rewrite(addr, "127.0.0.1", 40001, err, sizeof err);
	char *masked = got ? dura_text_mask(got) : NULL;
	int rc = got ? dura_address_endpoint(got, host, sizeof host, &port, err, sizeof err) : -1;
	tap_ok(rc == 0 && strcmp(host, "127.0.0.1") == 0 && port == 40001 && masked &&
	       !strstr(masked, password),
	       "rewritten '%s' points at the proxy and masks its password (%s)",
	       masked ? masked : "NULL", rc ? err : "ok");
	free(masked);
	free(got);
}

/* url = auto means the plugin's local_server (ABI 1.2); checked without
 * starting anything (env NULL). */
static void auto_recipe(const char *local_server, uint32_t struct_size, const char *want_err)
{
	static const struct dura_option_spec specs[] = {
		{ "url", "", "address", DURA_OPT_URL }, { NULL, NULL, NULL, 0 },
	};
	struct dura_provider_ops ops = { .abi_major = DURA_ABI_MAJOR, .struct_size = struct_size,
	                                 .name = "fake", .options = specs,
	                                 .local_server = local_server };
	struct dura_option opt = { "url", "auto" };
	struct dura_prepared prep;
	char err[512] = "";
	int rc = dura_env_prepare(NULL, &ops, &opt, 1, &prep, NULL, err, sizeof err);
	if (rc == 0)
		dura_prepared_free(&prep);
	tap_ok(want_err ? rc == -1 && strstr(err, want_err) != NULL : rc == 0,
	       "url = auto with local_server %s, struct_size %u: %s (got: %s)",
	       local_server ? local_server : "NULL", (unsigned)struct_size,
	       want_err ? want_err : "accepted", rc ? err : "accepted");
}

int main(void)
{
	auto_recipe(DURA_LOCAL_SERVER_POSTGRESQL, sizeof(struct dura_provider_ops), NULL);
	auto_recipe(NULL, sizeof(struct dura_provider_ops), "declares no local server");
	auto_recipe("nosuch", sizeof(struct dura_provider_ops),
	            "cannot start (it can start: postgresql");
	/* A plugin built before 1.2 has no local_server field: PostgreSQL, as
	 * 1.0 and 1.1 promised. */
	auto_recipe(NULL, (uint32_t)offsetof(struct dura_provider_ops, check_options), NULL);

	/* URLs of other schemes: host and port replaced, the rest kept. */
	endpoint_is("mysql://bench:pw@db.example:3306/bench", "db.example", 3306);
	endpoint_is("mariadb://db.example:3307", "db.example", 3307);
	endpoint_is("redis://:secret@[::1]:6380/0?timeout=5", "::1", 6380);
	endpoint_is("mysql://u:p%40ss@h:1/d", "h", 1);
	rewrite_is("mysql://bench:pw@db.example:3306/bench?ssl-mode=REQUIRED",
	           "mysql://bench:pw@127.0.0.1:40001/bench?ssl-mode=REQUIRED");
	rewrite_is("redis://:secret@[::1]:6380/0", "redis://:secret@127.0.0.1:40001/0");
	rewrite_is("mariadb://db.example:3307", "mariadb://127.0.0.1:40001");
	rewrite_is("mysql://u:a@b@h:3306/d", "mysql://u:a@b@127.0.0.1:40001/d");
	endpoint_refused("mysql://bench:pw@db.example/bench", "no port");
	endpoint_refused("mysql://h1:3306,h2:3306/d", "several hosts");
	endpoint_refused("mysql://db.example:99999/d", "bad port");
	endpoint_refused("mysql://fe80::1:3306/d", "brackets");

	/* Bare host:port. */
	endpoint_is("db.example:3306", "db.example", 3306);
	endpoint_is("[2001:db8::5]:4000", "2001:db8::5", 4000);
	rewrite_is("db.example:3306", "127.0.0.1:40001");
	rewrite_is("[2001:db8::5]:4000", "127.0.0.1:40001");
	endpoint_refused("db.example", "no port");
	endpoint_refused("db.example:", "bad port");

	/* Passwords stay masked once rewritten, whatever the scheme. */
	rewrite_masked("mysql://bench:Hunter22@db.example:3306/bench", "Hunter22");
	rewrite_masked("redis://:Hunter22@db.example:6379/0", "Hunter22");
	rewrite_masked("postgresql://u:Hunter22@db.example:5433/d", "Hunter22");
	rewrite_masked("host=db.example port=5433 password=Hunter22", "Hunter22");

#ifdef DURA_HAVE_POSTGRES
	/* libpq addresses, parsed by libpq: host kept, hostaddr + port set,
	 * every other given option kept (sslmode=verify-full still checks the
	 * name, .pgpass still matches it). */
	endpoint_is("postgresql://u@db.example:5433/d?sslmode=verify-full", "db.example", 5433);
	endpoint_is("host=db.example hostaddr=192.0.2.7 port=6000", "192.0.2.7", 6000);
	rewrite_is("postgresql://u:pw@db.example:5433/d?sslmode=verify-full",
	           "user='u' password='pw' dbname='d' sslmode='verify-full' host='db.example' "
	           "hostaddr='127.0.0.1' port='40001'");
	rewrite_is("host=db.example hostaddr=192.0.2.7 port=6000 application_name='it\\'s'",
	           "application_name='it\\'s' host='db.example' hostaddr='127.0.0.1' "
	           "port='40001'");
	endpoint_refused("host=/var/run/postgresql", "Unix-domain socket");
	endpoint_refused("host=a,b", "several hosts");
	endpoint_refused("postgresql://h/d?colour=blue", "not a libpq address");
#else
	for (int i = 0; i < 7; i++)
		tap_ok(1, "# SKIP libpq addresses: built without PostgreSQL");
#endif
	return tap_done();
}

/*
 * `durabench proxy`: the delay proxy on its own, so that psql, pgbench or any
 * TCP client can be pointed at an emulated remote server and the added
 * round trip confirmed by hand.  Runs until SIGINT or SIGTERM.
 */
#include "config.h"

#include "commands.h"
#include "services/proxy.h"
#include "base/units.h"
#include "base/util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: durabench proxy --target HOST:PORT [--listen [HOST:]PORT] [--rtt DURATION]\n"
	        "                       [--jitter DURATION] [--bandwidth RATE]\n"
	        "\n"
	        "Relays TCP connections to HOST:PORT, holding the bytes of each direction for\n"
	        "half the round-trip time, so a local server behaves like a remote one.\n"
	        "\n"
	        "  --target HOST:PORT   where to forward (IPv6 as [addr]:port)\n"
	        "  --listen [HOST:]PORT where to accept clients (default 127.0.0.1:0 = any free\n"
	        "                       port, printed at start); a non-loopback host must be\n"
	        "                       given explicitly\n"
	        "  --rtt DURATION       added round-trip time, e.g. 50ms (default 0)\n"
	        "  --jitter DURATION    +- uniform jitter per direction; bytes stay in order\n"
	        "  --bandwidth RATE     cap per direction, e.g. 100Mbit, 10MB/s (default none)\n"
	        "  --help               this text\n"
	        "\n"
	        "Prints one line naming both addresses, then runs until SIGINT or SIGTERM.\n"
	        "Example: durabench proxy --listen 127.0.0.1:6432 --target 127.0.0.1:5432 --rtt 50ms\n"
	        "         psql -h 127.0.0.1 -p 6432 ...   (then \\timing on; SELECT 1;)\n");
}

/* Splits "host:port", "[v6]:port" or (if default_host) a bare "port".
 * host is written into hostbuf. */
static int parse_hostport(const char *s, const char *default_host, int min_port,
                          char *hostbuf, size_t hostlen, int *port, char *err, size_t errlen)
{
	const char *portstr;
	size_t hlen;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':') {
			dura_errbuf(err, errlen, "'%s': expected [IPv6-address]:PORT", s);
			return -1;
		}
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= hostlen) {
			dura_errbuf(err, errlen, "'%s': bad host", s);
			return -1;
		}
		memcpy(hostbuf, s + 1, hlen);
		hostbuf[hlen] = '\0';
		portstr = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon) {
			if (!default_host) {
				dura_errbuf(err, errlen, "'%s': expected HOST:PORT", s);
				return -1;
			}
			dura_errbuf(hostbuf, hostlen, "%s", default_host);
			portstr = s;
		} else {
			hlen = (size_t)(colon - s);
			if (memchr(s, ':', hlen)) {
				dura_errbuf(err, errlen, "'%s': write IPv6 addresses as [addr]:PORT", s);
				return -1;
			}
			if (hlen == 0 || hlen >= hostlen) {
				dura_errbuf(err, errlen, "'%s': expected HOST:PORT", s);
				return -1;
			}
			memcpy(hostbuf, s, hlen);
			hostbuf[hlen] = '\0';
			portstr = colon + 1;
		}
	}
	uint64_t v;
	char why[128];
	if (dura_parse_uint(portstr, (uint64_t)min_port, 65535, &v, why, sizeof why) != 0) {
		dura_errbuf(err, errlen, "'%s': bad port: %s", s, why);
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* Failure lines arrive on the proxy thread; stdio keeps each line whole. */
static void log_line(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "durabench proxy: %s\n", message);
	fflush(stderr);
}

/* Accepts "--name value" and "--name=value".  Returns the value or NULL. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *bad)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "durabench proxy: %s needs a value\n", name);
		*bad = 1;
		return NULL;
	}
	return argv[++*i];
}

static void describe(char *buf, size_t len, const struct dura_proxy_config *cfg)
{
	char rtt[32], jitter[32];
	dura_format_duration_us(cfg->rtt_us, rtt, sizeof rtt);
	dura_format_duration_us(cfg->jitter_us, jitter, sizeof jitter);
	int n = snprintf(buf, len, "rtt %s", rtt);
	if (cfg->jitter_us && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", jitter +-%s", jitter);
	if (cfg->bandwidth_bps && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", bandwidth %.4g Mbit/s per direction",
		         (double)cfg->bandwidth_bps * 8 / 1e6);
}

int dura_cmd_proxy(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0", *target = NULL, *rtt = "0", *jitter = "0",
	           *bandwidth = NULL;
	for (int i = 1; i < argc; i++) {
		int bad = 0;
		const char *v;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return DURA_EXIT_OK;
		}
		if ((v = option_value(argc, argv, &i, "--listen", &bad)))
			listen = v;
		else if ((v = option_value(argc, argv, &i, "--target", &bad)))
			target = v;
		else if ((v = option_value(argc, argv, &i, "--rtt", &bad)))
			rtt = v;
		else if ((v = option_value(argc, argv, &i, "--jitter", &bad)))
			jitter = v;
		else if ((v = option_value(argc, argv, &i, "--bandwidth", &bad)))
			bandwidth = v;
		else if (!bad) {
			fprintf(stderr, "durabench proxy: unknown argument '%s' (see --help)\n", argv[i]);
			return DURA_EXIT_USAGE;
		}
		if (bad)
			return DURA_EXIT_USAGE;
	}
	if (!target) {
		fprintf(stderr, "durabench proxy: --target HOST:PORT is required (see --help)\n");
		return DURA_EXIT_USAGE;
	}

	char listen_host[256], target_host[256], why[256];
	struct dura_proxy_config cfg = { .log = log_line };
	if (parse_hostport(listen, "127.0.0.1", 0, listen_host, sizeof listen_host,
	                   &cfg.listen_port, why, sizeof why) != 0 ||
	    parse_hostport(target, NULL, 1, target_host, sizeof target_host, &cfg.target_port,
	                   why, sizeof why) != 0) {
		fprintf(stderr, "durabench proxy: %s\n", why);
		return DURA_EXIT_USAGE;
	}
	cfg.listen_host = listen_host;
	cfg.target_host = target_host;
	if (dura_parse_duration_us(rtt, &cfg.rtt_us, why, sizeof why) != 0) {
		fprintf(stderr, "durabench proxy: --rtt: %s\n", why);
		return DURA_EXIT_USAGE;
	}
	if (dura_parse_duration_us(jitter, &cfg.jitter_us, why, sizeof why) != 0) {
		fprintf(stderr, "durabench proxy: --jitter: %s\n", why);
		return DURA_EXIT_USAGE;
	}
	if (bandwidth && dura_parse_bandwidth(bandwidth, &cfg.bandwidth_bps, why, sizeof why) != 0) {
		fprintf(stderr, "durabench proxy: --bandwidth: %s\n", why);
		return DURA_EXIT_USAGE;
	}
	if (bandwidth && cfg.bandwidth_bps == 0) {
		fprintf(stderr, "durabench proxy: --bandwidth must be more than zero\n");
		return DURA_EXIT_USAGE;
	}

	/* Block the stop signals before the proxy thread exists (it inherits the
	 * mask), then wait for them synchronously: no async handler needed. */
	sigset_t stopsigs, oldmask;
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGINT);
	sigaddset(&stopsigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stopsigs, &oldmask);

	struct dura_proxy *proxy;
	if (dura_proxy_start(&cfg, &proxy, why, sizeof why) != 0) {
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		fprintf(stderr, "durabench proxy: %s\n", why);
		return DURA_EXIT_USAGE;
	}
	char shape[160];
	describe(shape, sizeof shape, &cfg);
	const char *lb = strchr(listen_host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	const char *tb = strchr(target_host, ':') ? "[" : "", *trb = *tb ? "]" : "";
	printf("durabench proxy: listening on %s%s%s:%d, forwarding to %s%s%s:%d (%s)\n", lb,
	       listen_host, rb, dura_proxy_port(proxy), tb, target_host, trb, cfg.target_port,
	       shape);
	fflush(stdout);

	int sig = 0;
	while (sigwait(&stopsigs, &sig) != 0)
		;
	struct dura_proxy_stats st;
	dura_proxy_get_stats(proxy, &st);
	dura_proxy_stop(proxy);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	fprintf(stderr,
	        "durabench proxy: stopped on %s after %llu connection(s), %llu could not reach "
	        "the target\n",
	        sig == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)st.accepted,
	        (unsigned long long)st.connect_failures);
	return DURA_EXIT_OK;
}

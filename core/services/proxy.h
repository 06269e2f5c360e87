/*
 * TCP delay proxy used to emulate a remote database on one machine.  Each
 * accepted connection is paired with a connection to the target; bytes in
 * each direction are held for rtt/2 (+ jitter) before they are forwarded,
 * in order, optionally paced to a bandwidth cap.  One epoll thread serves
 * all connections; buffering per connection is bounded (reads pause when a
 * direction has too much in flight).
 */
#ifndef DURA_PROXY_H
#define DURA_PROXY_H

#include <stddef.h>
#include <stdint.h>

struct dura_proxy_config {
	const char *listen_host;  /* e.g. "127.0.0.1" */
	int listen_port;          /* 0 = pick a free port */
	const char *target_host;
	int target_port;
	uint64_t rtt_us;          /* added round-trip time, split over both ways */
	uint64_t jitter_us;       /* +- uniform jitter per direction (order kept) */
	uint64_t bandwidth_bps;   /* bytes per second per direction; 0 = no cap */
	/* Optional: called on the proxy thread with a one-line message (no
	 * newline) for each client that could not be connected to the target,
	 * e.g. "client 127.0.0.1:40312: cannot connect to 127.0.0.1:5432:
	 * Connection refused".  NULL = only count failures. */
	void (*log)(void *log_arg, const char *message);
	void *log_arg;
};

/* Counters since start; read with relaxed atomics (any thread). */
struct dura_proxy_stats {
	uint64_t accepted;          /* client connections accepted */
	uint64_t connect_failures;  /* of those, could not reach the target */
	uint64_t bytes_to_target;   /* delivered client -> target */
	uint64_t bytes_to_client;   /* delivered target -> client */
	uint64_t open_connections;  /* currently relayed (client side open) */
};

struct dura_proxy;

/* Binds, listens and starts the proxy thread.  Returns 0, or -1 with a
 * message.  A target that refuses connections is reported per accepted
 * client (the client's connection is closed) and counted. */
int dura_proxy_start(const struct dura_proxy_config *cfg, struct dura_proxy **out,
                     char *err, size_t errlen);
int dura_proxy_port(const struct dura_proxy *p);   /* actual listen port */
/* Connections that could not reach the target so far. */
uint64_t dura_proxy_connect_failures(const struct dura_proxy *p);
void dura_proxy_get_stats(const struct dura_proxy *p, struct dura_proxy_stats *out);
/* Faults.  Each call returns once the proxy thread has applied it (call
 * from any thread but the proxy's own log callback).
 * reset_all: every relayed connection is reset (both sides see a reset,
 * not an orderly close); returns how many there were.
 * set_partition(1): nothing is forwarded either way and no client is
 * accepted, but every connection stays open (a blackholed network); held
 * bytes are delivered after set_partition(0), like TCP retransmissions.
 * set_extra_rtt: adds rtt_us to the configured round trip from now on
 * (0 = back to the configured one). */
uint64_t dura_proxy_reset_all(struct dura_proxy *p);
void dura_proxy_set_partition(struct dura_proxy *p, int on);
void dura_proxy_set_extra_rtt(struct dura_proxy *p, uint64_t rtt_us);

/* Stops the thread, closes every connection, frees p.  Safe with NULL. */
void dura_proxy_stop(struct dura_proxy *p);

/* `durabench proxy ...` */
int dura_cmd_proxy(int argc, char **argv);

#endif

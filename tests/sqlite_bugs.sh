# Sourced by tests/validate_sqlite_bugs.sh and tests/scaleout_feed.sh:
# builds copies of the shipped SQLite provider with one realistic bug each
# (a perl substitution on its sources) so the conformance suite can be shown
# to catch them.
#
#   sqlite_bugs_require [TOOL]  skips the test when a copy cannot be built
#   sqlite_bug_build NAME DIR   builds $DIR/NAME.so; 0, or 1 when the
#                               substitution no longer matches the sources
#                               (the test then says so) or cc failed
# The bugs, one line each: NAME FILE[+FILE] PERL-SUBSTITUTION (feed_unacked:
# take_completions_acked removes what it hands out).  The last two are
# faults, not bugs (tests/scaleout_feed.sh): the first non-empty reply of
# take_completions_acked is lost after its transaction committed, with the
# acknowledged feed, and with entries removed as they are handed out.
sqlite_bugs='
history_limit	sqlite_history.c	s/\tint sorted = 1;\n\tfor \(size_t i = 1; i < s->spans.n/\tif (s->spans.n > 100)\n\t\ts->spans.n = 100;\n$&/
history_text_order	sqlite_schema.c+sqlite_history.c	s/ORDER BY first_id"/ORDER BY CAST(first_id AS TEXT)"/; s/if \(!sorted\)\n\t\tqsort\(s->spans.v/if (0)\n\t\tqsort(s->spans.v/
no_exclusive_lock	sqlite_store.c	s/\(!s->cfg.shared && \(rc = pragma\(s, "PRAGMA locking_mode = EXCLUSIVE"/(!s->cfg.shared \&\& (rc = pragma(s, "PRAGMA locking_mode = NORMAL"/
drop_keeps_file	sqlite_store.c	s/if \(drop && !s->cfg.in_memory\)/if (0 \&\& drop)/
delete_untagged	sqlite_schema.c	s/"DELETE FROM dura_orch_queue WHERE instance = \?1 AND token = \?2"/"DELETE FROM dura_orch_queue WHERE instance = ?1 AND ?2 = ?2"/
tag_delayed	sqlite_schema.c	s/" WHERE instance = \?1 AND visible_at <= \?3",/" WHERE instance = ?1 AND ?3 = ?3",/
ignore_duplicate_event	sqlite_history.c	s/\tif \(found\)\n\t\treturn duplicate/\tif (0)\n\t\treturn duplicate/
no_wake_on_completion	sqlite_work.c	s/\tdura_sqlite_wake\(&s->orch_cond, s->orch_waiters, enqueued\);\n//g
feed_unacked	sqlite_scale.c	s/return take\(s, 1, ack, max, out, err\);/return take(s, 0, 0, max, out, err);/
feed_reply_lost	sqlite_scale.c	s/return take\(s, 1, ack, max, out, err\);/static int lost; dura_rc rc = take(s, 1, ack, max, out, err); if (rc == DURA_OK \&\& !lost++) { dura_sqlite_release_completions(s, *out); *out = NULL; fprintf(stderr, "durabench test: a completion feed reply is lost\\n"); dura_sqlite_err(err, "the reply was lost"); return DURA_RETRY; } return rc;/
feed_reply_lost_unacked	sqlite_scale.c	s/return take\(s, 1, ack, max, out, err\);/static int lost; dura_rc rc = take(s, 0, 0, max, out, err); if (rc == DURA_OK \&\& !lost++) { dura_sqlite_release_completions(s, *out); *out = NULL; fprintf(stderr, "durabench test: a completion feed reply is lost\\n"); dura_sqlite_err(err, "the reply was lost"); return DURA_RETRY; } return rc;/
'

# sqlite_bugs_require [TOOL...]: skips the whole test (exit 0) unless a
# copy can be built here (cc, pkg-config, perl, the sqlite3 development
# files) and the extra TOOLs exist.
sqlite_bugs_require() {
	for tool in ${CC:-cc} pkg-config perl "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "1..0 # SKIP $tool not found"
			exit 0
		fi
	done
	if ! pkg-config --exists sqlite3; then
		echo "1..0 # SKIP sqlite3 development files not found"
		exit 0
	fi
}

sqlite_bug_build() {
	name=$1
	dir=$2
	line=$(printf '%s\n' "$sqlite_bugs" | awk -F '\t' -v n="$name" '$1 == n')
	file=$(printf '%s\n' "$line" | cut -f 2)
	expr=$(printf '%s\n' "$line" | cut -f 3)
	src="$dir/$name.src"
	mkdir -p "$src"
	cp "$top_srcdir"/plugins/sqlite/*.c "$top_srcdir"/plugins/sqlite/*.h "$src/"
	# FILE may name several files joined by '+': the substitution must
	# change each of them
	for f in $(printf '%s\n' "$file" | tr '+' ' '); do
		perl -0pi -e "$expr" "$src/$f"
		if cmp -s "$top_srcdir/plugins/sqlite/$f" "$src/$f"; then
			echo "# $name: the substitution no longer matches plugins/sqlite/$f" >&2
			return 1
		fi
	done
	# shellcheck disable=SC2046
	${CC:-cc} -std=gnu11 -O0 -w -shared -fPIC -D_GNU_SOURCE -I "$top_srcdir/include" \
		$(pkg-config --cflags sqlite3) -o "$dir/$name.so" "$src"/*.c \
		$(pkg-config --libs sqlite3) -lpthread
}

/*
 * Reading a stored history back for verification: decodes every event of
 * one execution and counts them by kind, so the driver can check that an
 * instance's history has the shape its workload implies.
 */
#include "config.h"

#include "orchestration.h"

#include "codec.h"

#include <string.h>

int dura_history_shape(const struct dura_event *events, size_t n,
                       struct dura_history_shape *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		struct dura_rec r;
		const char *why = NULL;
		if (dura_codec_decode(events[i].body.data, events[i].body.len, &r, &why) != 0 ||
		    !dura_codec_is_event(r.kind)) {
			dura_errbuf(err, errlen, "history event %llu (position %zu): %s",
			            (unsigned long long)events[i].event_id, i + 1,
			            why ? why : "not a history event");
			return -1;
		}
		out->events++;
		switch (r.kind) {
		case DURA_EV_EXECUTION_STARTED: out->started++; break;
		case DURA_EV_TASK_SCHEDULED: out->activities_scheduled++; break;
		case DURA_EV_TASK_COMPLETED:
		case DURA_EV_TASK_FAILED: out->activities_completed++; break;
		case DURA_EV_TIMER_CREATED: out->timers_created++; break;
		case DURA_EV_TIMER_FIRED: out->timers_fired++; break;
		case DURA_EV_SUBORCH_SCHEDULED: out->suborchs_scheduled++; break;
		case DURA_EV_SUBORCH_COMPLETED:
		case DURA_EV_SUBORCH_FAILED: out->suborchs_completed++; break;
		case DURA_EV_EXECUTION_COMPLETED:
			out->terminal++;
			out->terminal_status = DURA_STATUS_COMPLETED;
			break;
		case DURA_EV_EXECUTION_FAILED:
			out->terminal++;
			out->terminal_status = DURA_STATUS_FAILED;
			out->terminal_category = r.category;
			break;
		case DURA_EV_CONTINUED_AS_NEW:
			out->terminal++;
			out->terminal_status = DURA_STATUS_CONTINUED_AS_NEW;
			break;
		default:
			break;
		}
	}
	return 0;
}

// The tracepoints the kernel layer calls: trace_sched_switch(), trace_cpu_stop_queue(), ...,
// one for each event defined in trace/events/*.h, and the events' ids. A disabled tracepoint
// costs one load and a not-taken branch (trace/tracepoint.h).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "cpustop/stop_machine.h"
#include "trace/tracepoint.h"

namespace cpustop {

struct task_struct;

#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print)
#define TRACE_EVENT(name, proto, args, tstruct, assign, print, ...) TE_##name,
#define DEFINE_EVENT(tmpl, name, proto, args, ...) TE_##name,
enum trace_event_id : std::uint16_t {
#include "trace/events/all.h"
  NR_TRACE_EVENTS
};
#undef TRACE_EVENT
#undef DEFINE_EVENT

#define TRACE_EVENT(name, proto, args, tstruct, assign, print, ...) \
  DECLARE_TRACE(name, PARAMS(proto), PARAMS(args))
#define DEFINE_EVENT(tmpl, name, proto, args, ...) DECLARE_TRACE(name, PARAMS(proto), PARAMS(args))
#include "trace/events/all.h"
#undef TRACE_EVENT
#undef DEFINE_EVENT
#undef DECLARE_EVENT_CLASS
#undef TRACE_SYSTEM

}  // namespace cpustop

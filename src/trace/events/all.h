// Every event header, in the order of the event ids. Adding an event: define it in one of these
// headers (or a new one listed here); everything else is generated from that definition.
// Read once per pass: no include guard.
// clang-format off
#include "trace/events/sched.h"
#include "trace/events/stop.h"
#include "trace/events/cpuhp.h"
#include "trace/events/irq.h"
#include "trace/events/workqueue.h"
// clang-format on

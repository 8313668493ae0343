// Shared between the files of the native architecture; not seen by the kernel layer.
#pragma once

#include <sys/types.h>

namespace cpustop::arch {

// The host thread id of logical CPU `cpu`'s thread, 0 before it started.
pid_t cpu_thread_tid(unsigned cpu);

}  // namespace cpustop::arch

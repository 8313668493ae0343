// The benchmark's call sites: `cpustop bench tracepoint` times the kernel's own inline
// tracepoint from here, since bench/ reaches only the public headers.
#include "cpustop/trace.h"
#include "trace/events.h"

namespace cpustop {

void trace_cpu_stop_finish_loop(int (*fn)(void*), int n) {
  for (int i = 0; i < n; i++) {
    trace_cpu_stop_finish(fn, i);
    asm volatile("" ::: "memory");  // one call site per iteration, as the USDT peer's loop
  }
}

}  // namespace cpustop

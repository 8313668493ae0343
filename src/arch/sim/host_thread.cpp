// The simulated machine's host thread, as trace events recorded outside the virtual CPUs see it.
#include "arch/arch.h"

namespace cpustop::arch {

// One host thread, with a fixed id above every pid the machine hands out (the kernel's
// PID_MAX_LIMIT), so that a seed's trace, and with it its digest, is the same in every run.
const host_thread_id& this_host_thread() {
  static const host_thread_id id = {4194304, "sim-host"};
  return id;
}

}  // namespace cpustop::arch

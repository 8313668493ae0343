// Signals (kernel/signal.c): pending bits and signal_wake_up(), no handlers.
#include "cpustop/signal.h"

#include <cerrno>

#include "kernel/pid.h"

namespace cpustop {

int kill(pid_t pid, int sig) {
  if (sig < 0 || sig > 64) return -EINVAL;
  task_struct* p = find_get_task_by_vpid(pid);
  if (!p) return -ESRCH;
  bool kthread;
  {
    spin_irqsave_guard g(&p->pi_lock);  // flags change under it (do_exit, kernel_init)
    kthread = p->flags & PF_KTHREAD;
  }
  if (sig != 0 && !kthread) {
    // Dekker with the sleeper: it sets its state, then looks at the bits (signal_pending).
    p->pending_signals.fetch_or(std::uint64_t{1} << (sig - 1), std::memory_order_seq_cst);
    wake_up_state(p, TASK_INTERRUPTIBLE);  // signal_wake_up()
  }
  put_task_struct(p);
  return 0;
}

bool signal_pending() {
  task_struct* p = get_current();
  return p && signal_pending(p);
}

std::uint64_t flush_signals() {
  task_struct* p = get_current();
  return p ? p->pending_signals.exchange(0, std::memory_order_seq_cst) : 0;
}

}  // namespace cpustop

// Deferred interrupt handling. Other CPUs (and the clock event device) set bits in a CPU's
// pending word; the CPU handles them in hardirq context at its next interrupt-enable point, or
// at once from the thread signal under preempt=full.
#include "kernel/irq.h"

#include "kernel/preempt.h"
#include "kernel/softirq.h"
#include "kernel/task.h"
#include "kernel/time/hrtimer.h"
#include "kernel/time/tick.h"

namespace cpustop {

preempt_model preempt_model_current = preempt_model::voluntary;

namespace {

void kick_cpu(int cpu, cpu_hot* h) {
  u32 st = h->idle_state.load(std::memory_order_seq_cst);
  if (st == CPU_HALTED) {
    if (h->idle_state.compare_exchange_strong(st, CPU_POLLING, std::memory_order_seq_cst))
      arch::cpu_kick(static_cast<unsigned>(cpu), &h->idle_state);
  } else if (st == CPU_BUSY && preempt_model_current == preempt_model::full) {
    if (!h->irq_signalled.exchange(1, std::memory_order_acq_rel))
      arch::irq_raise(static_cast<unsigned>(cpu));
  }
}

// The thread signal: we interrupted whatever this CPU's thread was running.
void arch_irq_entry(std::uintptr_t pc) {
  void* slot = arch::this_cpu_slot();
  if (!slot) return;
  thread_info* ti = static_cast<thread_info*>(slot);
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  if (cpu < 0) return;
  cpu_hot* h = per_cpu_hot(static_cast<unsigned>(cpu));
  h->irq_signalled.store(0, std::memory_order_release);
  stat_add(h->nr_irq_signals, 1);
  // Only a task's own code with preemption and interrupts on may be interrupted; anything else
  // (cpustop internals, libc, the idle loop) takes the interrupt at its next enable point.
  if (ti->preempt_count || ti->irqs_off || !arch::pc_in_app_text(pc)) {
    stat_add(h->nr_async_declined, 1);
    return;
  }
  do_pending_irqs();
  if (need_resched() && preempt_model_current == preempt_model::full) {
    stat_add(h->nr_async_preempt, 1);
    preempt_schedule();
  }
}

}  // namespace

void send_ipi(int cpu, u32 reason) {
  cpu_hot* h = per_cpu_hot(static_cast<unsigned>(cpu));
  h->pending.fetch_or(reason, std::memory_order_seq_cst);
  kick_cpu(cpu, h);
}

void wake_up_idle_cpu(int cpu) {
  cpu_hot* h = per_cpu_hot(static_cast<unsigned>(cpu));
  u32 st = CPU_HALTED;
  if (h->idle_state.compare_exchange_strong(st, CPU_POLLING, std::memory_order_seq_cst))
    arch::cpu_kick(static_cast<unsigned>(cpu), &h->idle_state);
}

void raise_irq_busy(int cpu, u32 reason, bool signal) {
  cpu_hot* h = per_cpu_hot(static_cast<unsigned>(cpu));
  u32 old = h->pending.fetch_or(reason, std::memory_order_seq_cst);
  // A tick still pending from last time means the task has not reached a preemption point for
  // a whole tick: that is when preempt=full interrupts it.
  // It signals again for every such tick even if the last signal is not yet handled: a
  // signal can be lost to us (the sanitizers queue it in the interrupted fiber's state).
  if (preempt_model_current != preempt_model::full ||
      h->idle_state.load(std::memory_order_relaxed) != CPU_BUSY)
    return;
  bool stale = old & reason;
  if ((signal || stale) && (!h->irq_signalled.exchange(1, std::memory_order_acq_rel) || stale))
    arch::irq_raise(static_cast<unsigned>(cpu));
}

void do_pending_irqs() {
  thread_info* ti = current_thread_info();
  if (ti->preempt_count & HARDIRQ_MASK) return;
  __preempt_count_add(HARDIRQ_OFFSET);
  cpu_hot* h = this_cpu();  // stable now that the count is raised
  while (u32 bits = h->pending.exchange(0, std::memory_order_acq_rel)) {
    if (bits & IRQ_RESCHEDULE) scheduler_ipi();
    if (bits & IRQ_HRTIMER) hrtimer_interrupt();
    if (bits & IRQ_TICK) {
      tick_handle_periodic();
      // A busy CPU collects its I/O readiness at least once a tick.
      if (arch::io_active(static_cast<unsigned>(h->cpu))) bits |= IRQ_NET;
    }
    if (bits & IRQ_NOHZ_KICK) nohz_balance_kicked();
    if (bits & IRQ_NET) raise_softirq(NET_RX_SOFTIRQ);
  }
  __preempt_count_sub(HARDIRQ_OFFSET);
  if (!(ti->preempt_count & (HARDIRQ_MASK | SOFTIRQ_MASK)) && local_softirq_pending())
    invoke_softirq();
}

void irq_init() {
  arch::irq_install(arch_irq_entry);
}
void irq_exit_cleanup() {
  arch::irq_uninstall();
}

}  // namespace cpustop

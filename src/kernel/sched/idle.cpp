// The idle class and the idle loop (kernel/sched/idle.c). Each CPU's OS thread runs its idle
// task on the thread's own stack. In `poll` mode the loop spins on its flags; in `halt` mode it
// polls for cond_policy.idle_poll_ns (the guest haltpoll idea) and then halts (arch_idle) until
// an IPI, readiness on the CPU's I/O set, or its next timer wakes it. While the CPU's I/O set is
// in use, the poll looks at it too (NAPI busy polling): readiness raises IRQ_NET, run as NET_RX.
#include "kernel/bug.h"
#include "kernel/cpu.h"
#include "kernel/irq.h"
#include "kernel/sched/sched.h"
#include "kernel/system.h"
#include "kernel/time/hrtimer.h"

namespace cpustop {

atomic_cpumask idle_cpus_mask;

namespace {

int select_task_rq_idle(task_struct* p, int, int) {
  return task_cpu(p);
}

void enqueue_task_idle(rq*, task_struct*, int) {
  BUG();  // the idle task is never queued
}
void dequeue_task_idle(rq*, task_struct*, int) {
  BUG();  // the idle task is never queued
}
void wakeup_preempt_idle(rq* rq, task_struct*, int) {
  resched_curr(rq);
}
void set_next_task_idle(rq*, task_struct*, bool) {}
task_struct* pick_next_task_idle(rq* rq, task_struct*) {
  return rq->idle;
}
void put_prev_task_idle(rq*, task_struct*) {}
void task_tick_idle(rq*, task_struct*, int) {}
void update_curr_idle(rq*) {}

bool idle_should_return(int cpu) {
  if (!cpu_online(cpu)) return true;
  return machine_halting.load(std::memory_order_acquire) &&
         cpu_rq(cpu)->nr_running.load(std::memory_order_relaxed) == 0;
}

// Polls the CPU's I/O set, if it has one: its events run as the NET_RX softirq right here.
void idle_poll_io(int cpu, cpu_hot* h) {
  if (!arch::io_active(static_cast<unsigned>(cpu))) return;
  h->pending.fetch_or(IRQ_NET, std::memory_order_relaxed);
  do_pending_irqs();
}

// Poll for the haltpoll window (cond_policy.idle_poll_ns) before halting: a wakeup that comes
// soon finds the CPU awake. With I/O, each round polls the I/O set as well. Not while the host
// steals from this CPU (steal_account_process_time): then the spin is someone else's time.
template <class Done>
bool idle_poll(int cpu, cpu_hot* h, Done&& done) {
  if (cpu_rq(cpu)->steal_heavy.load(std::memory_order_relaxed)) return false;
  u64 poll_until = arch::local_clock() + cond_policy.idle_poll_ns;
  bool io = arch::io_active(static_cast<unsigned>(cpu));
  while (!done()) {
    if (arch::local_clock() >= poll_until) return false;
    if (io)
      idle_poll_io(cpu, h);
    else
      arch::cpu_relax();
  }
  return true;
}

// arch_idle(): halt until an IPI, readiness or the next timer, after a last look at the flags
// (the Dekker pair with send_ipi() and resched_curr(), which read idle_state after setting
// them). Not cond_block(): a halt waits on its word and on the CPU's I/O set at once.
void arch_idle(int cpu, cpu_hot* h, s64 timeout) {
  h->idle_state.store(CPU_HALTED, std::memory_order_seq_cst);
  if (!need_resched() && !h->pending.load(std::memory_order_seq_cst) && !idle_should_return(cpu) &&
      arch::cpu_halt(static_cast<unsigned>(cpu), &h->idle_state, CPU_HALTED, timeout) ==
          arch::HALT_IO)
    h->pending.fetch_or(IRQ_NET, std::memory_order_relaxed);
}

// One pass of do_idle(): wait until there is something to run (or a reason to leave).
void do_idle(int cpu) {
  cpu_hot* h = per_cpu_hot(static_cast<unsigned>(cpu));
  bool poll = boot_params_current.idle == idle_mode::poll;
  while (!need_resched()) {
    // Written only on a change: a store per pass would bounce the line the wakers read.
    if (h->idle_state.load(std::memory_order_relaxed) != CPU_POLLING)
      h->idle_state.store(CPU_POLLING, std::memory_order_seq_cst);
    if (h->pending.load(std::memory_order_relaxed)) do_pending_irqs();
    if (hrtimer_next_expiry(cpu) <= arch::local_clock()) hrtimer_interrupt();
    idle_poll_io(cpu, h);
    if (need_resched() || idle_should_return(cpu)) break;
    if (poll) {
      arch::cpu_relax();
      continue;
    }
    if (idle_poll(cpu, h,
                  [&] { return need_resched() || h->pending.load(std::memory_order_relaxed); }))
      continue;
    u64 now = arch::local_clock(), next = hrtimer_next_expiry(cpu);
    s64 timeout = next == KTIME_MAX ? COND_FOREVER : static_cast<s64>(next > now ? next - now : 0);
    if (timeout == 0) continue;
    arch_idle(cpu, h, timeout);
  }
  h->idle_state.store(CPU_POLLING, std::memory_order_relaxed);
}

}  // namespace

void idle_transition(int cpu, bool to_idle) {
  cpu_hot* h = per_cpu_hot(static_cast<unsigned>(cpu));
  if (to_idle) {
    idle_cpus_mask.set(static_cast<unsigned>(cpu));
    h->curr_prio.store(MAX_PRIO, std::memory_order_relaxed);
  } else {
    h->idle_state.store(CPU_BUSY, std::memory_order_seq_cst);
    idle_cpus_mask.clear(static_cast<unsigned>(cpu));
  }
}

void cpu_startup_entry() {
  int cpu = raw_smp_processor_id();
  for (;;) {
    do_idle(cpu);
    if (need_resched()) {
      schedule_idle();
      continue;
    }
    if (idle_should_return(cpu)) return;
  }
}

const sched_class idle_sched_class = {
    .name = "idle",
    .enqueue_task = enqueue_task_idle,
    .dequeue_task = dequeue_task_idle,
    .yield_task = nullptr,
    .wakeup_preempt = wakeup_preempt_idle,
    .pick_next_task = pick_next_task_idle,
    .put_prev_task = put_prev_task_idle,
    .set_next_task = set_next_task_idle,
    .select_task_rq = select_task_rq_idle,
    .task_tick = task_tick_idle,
    .task_fork = nullptr,
    .switching_to = nullptr,
    .switched_from = nullptr,
    .switched_to = nullptr,
    .prio_changed = nullptr,
    .update_curr = update_curr_idle,
    .migrate_task_rq = nullptr,
    .pick_task = nullptr,
};

}  // namespace cpustop

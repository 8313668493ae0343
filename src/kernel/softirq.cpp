// Softirqs and ksoftirqd/N (kernel/softirq.c).
#include "kernel/softirq.h"

#include "kernel/printk.h"
#include "kernel/smpboot.h"
#include "kernel/stop_machine.h"
#include "kernel/task.h"
#include "trace/events.h"

namespace cpustop {

namespace {

constexpr int MAX_SOFTIRQ_RESTART = 10;

std::atomic<void (*)()> softirq_vec_action[NR_SOFTIRQS];

struct softirq_cpu {
  u32 pending = 0;  // touched only by the owning CPU, with interrupts (our deferral) off
  task_struct* store = nullptr;                  // smpboot's slot
  std::atomic<task_struct*> ksoftirqd{nullptr};  // what interrupt context reads
  stat_u64 count[NR_SOFTIRQS] = {};
};
softirq_cpu* softirq_cpus;

softirq_cpu* this_softirq() {
  return &softirq_cpus[raw_smp_processor_id()];
}

void wakeup_softirqd() {
  task_struct* tsk = this_softirq()->ksoftirqd.load(std::memory_order_acquire);
  if (tsk) wake_up_process(tsk);
}

void __do_softirq() {
  softirq_cpu* sc = this_softirq();
  __preempt_count_add(SOFTIRQ_OFFSET);
  for (int restart = 0; restart < MAX_SOFTIRQ_RESTART && sc->pending; restart++) {
    u32 pending = sc->pending;
    sc->pending = 0;
    while (pending) {
      int vec = __builtin_ctz(pending);
      pending &= pending - 1;
      trace_softirq_entry(static_cast<unsigned>(vec));
      if (auto action = softirq_vec_action[vec].load(std::memory_order_acquire)) action();
      stat_add(sc->count[vec], 1);
      trace_softirq_exit(static_cast<unsigned>(vec));
    }
  }
  __preempt_count_sub(SOFTIRQ_OFFSET);
  if (sc->pending) wakeup_softirqd();
}

int ksoftirqd_should_run(unsigned cpu) {
  return softirq_cpus[cpu].pending != 0;
}

void run_ksoftirqd(unsigned) {
  unsigned long flags = local_irq_save();
  if (this_softirq()->pending) __do_softirq();
  local_irq_restore(flags);
  cond_resched();
}

task_struct** ksoftirqd_store(unsigned cpu) {
  return &softirq_cpus[cpu].store;
}

void ksoftirqd_create(unsigned cpu) {
  softirq_cpus[cpu].ksoftirqd.store(softirq_cpus[cpu].store, std::memory_order_release);
}

smp_hotplug_thread softirq_threads = {
    .store = ksoftirqd_store,
    .thread_should_run = ksoftirqd_should_run,
    .thread_fn = run_ksoftirqd,
    .create = ksoftirqd_create,
    .thread_comm = "ksoftirqd/%u",
};

}  // namespace

void softirq_init() {
  softirq_cpus = new softirq_cpu[nr_cpu_ids_];
}

int spawn_ksoftirqd() {
  return smpboot_register_percpu_thread(&softirq_threads);
}

void softirq_exit() {
  for (unsigned c = 0; c < nr_cpu_ids_; c++) softirq_cpus[c].ksoftirqd.store(nullptr);
  synchronize_sched();  // interrupt context may still hold a pointer it loaded
  smpboot_unregister_percpu_thread(&softirq_threads);
}

void softirq_free() {
  delete[] softirq_cpus;
  softirq_cpus = nullptr;
}

bool local_softirq_pending() {
  return softirq_cpus && this_softirq()->pending != 0;
}

void invoke_softirq() {
  softirq_cpu* sc = this_softirq();
  // ksoftirqd is already on the way: let it do the work in task context.
  task_struct* tsk = sc->ksoftirqd.load(std::memory_order_acquire);
  if (tsk && task_is_running(tsk)) return;
  __do_softirq();
}

int open_softirq(int nr, void (*action)()) {
  if (nr < 0 || nr >= NR_SOFTIRQS) return -EINVAL;
  softirq_vec_action[nr].store(action, std::memory_order_release);
  return 0;
}

int raise_softirq(int nr) {
  if (nr < 0 || nr >= NR_SOFTIRQS) return -EINVAL;
  if (raw_smp_processor_id() < 0 || !softirq_cpus) return -EPERM;
  unsigned long flags = local_irq_save();
  this_softirq()->pending |= 1u << nr;
  trace_softirq_raise(static_cast<unsigned>(nr));
  // In interrupt or softirq context it runs on the way out; otherwise ksoftirqd runs it soon.
  if (!(__preempt_count() & (HARDIRQ_MASK | SOFTIRQ_MASK))) wakeup_softirqd();
  local_irq_restore(flags);
  return 0;
}

unsigned long softirq_count(unsigned cpu, int nr) {
  if (!softirq_cpus || cpu >= nr_cpu_ids_ || nr < 0 || nr >= NR_SOFTIRQS) return 0;
  return stat_read(softirq_cpus[cpu].count[nr]);
}

}  // namespace cpustop

// The common part of every record (the kernel's tracing_gen_ctx and trace_event_buffer_reserve):
// who recorded it, on which CPU, in which context. The only file of the tracing core that reads
// the running task.
#include <algorithm>

#include "kernel/locking/spinlock.h"
#include "kernel/task.h"
#include "trace/trace.h"

namespace cpustop {

const char* trace_current_comm() {
  task_struct* curr = get_current();
  return curr ? curr->comm : arch::this_host_thread().comm;
}

int trace_current_pid() {
  task_struct* curr = get_current();
  return curr ? curr->pid : arch::this_host_thread().tid;
}

void* trace_event_buffer_reserve(trace_event_buffer* fb, const trace_event_call* call,
                                 std::uint32_t size) {
  std::uint32_t key = call->key->load(std::memory_order_relaxed);
  fb->usdt = key & TRACEPOINT_USDT_MASK;
  fb->entry = fb->stack;
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  if (!(key & TRACEPOINT_RING) || !tr) return fb->stack;

  // Interrupts and preemption off, as __raw_spin_lock_irqsave() would, before the CPU is read:
  // the record lands in the ring of the CPU it names. The context is the one before.
  thread_info* ti = current_thread_info();
  int preempt = ti->preempt_count;
  fb->irqs_off = ti->irqs_off;
  ti->irqs_off = 1;
  ti->preempt_count = preempt + 1;
  barrier();
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  task_struct* curr = cpu >= 0 ? reinterpret_cast<task_struct*>(ti) : nullptr;
  cpu_hot* hot = cpu >= 0 ? per_cpu_hot(static_cast<unsigned>(cpu)) : external_cpu_hot();

  std::uint8_t flags = fb->irqs_off ? TRACE_FLAG_IRQS_OFF : 0;
  if (hot->need_resched.load(std::memory_order_relaxed))
    flags |= TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED;
  if (preempt & HARDIRQ_MASK) flags |= TRACE_FLAG_HARDIRQ;
  if (preempt & SOFTIRQ_MASK) flags |= TRACE_FLAG_SOFTIRQ;
  int md = curr ? curr->migration_disabled.load(std::memory_order_relaxed) : 0;
  auto pc = static_cast<std::uint8_t>(std::min(preempt & PREEMPT_MASK, 15) | std::min(md, 15) << 4);
  const arch::host_thread_id* host = curr ? nullptr : &arch::this_host_thread();
  int pid = curr ? curr->pid : host->tid;
  unsigned idx = cpu >= 0 && static_cast<unsigned>(cpu) < tr->nr_cpus ? static_cast<unsigned>(cpu)
                                                                      : tr->nr_cpus;
  fb->ring = tr->rings[idx].get();
  fb->shared = idx == tr->nr_cpus;
  if (fb->shared) {
    lockdep_acquire(fb->ring->lock());
    do_raw_spin_lock(fb->ring->lock());
  }
  auto* ent = static_cast<trace_entry*>(fb->ring->reserve(size));
  if (tr->cmdline_pid[idx] != pid && pid) {
    tr->cmdline_pid[idx] = pid;
    trace_save_cmdline(pid, curr ? curr->comm : host->comm);
  }
  ent->type = call->id;
  ent->flags = flags;
  ent->preempt_count = pc;
  ent->pid = pid;
  fb->entry = ent;
  return ent;
}

void trace_event_buffer_commit(trace_event_buffer* fb) {
  if (!fb->ring) return;
  fb->ring->commit();
  if (fb->shared) {
    lockdep_release(fb->ring->lock());
    do_raw_spin_unlock(fb->ring->lock());
  }
  current_thread_info()->irqs_off = fb->irqs_off;
  __preempt_enable();
}

}  // namespace cpustop

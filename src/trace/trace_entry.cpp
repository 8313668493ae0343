// The common part of every record (the kernel's tracing_gen_ctx and trace_event_buffer_reserve):
// who recorded it, on which CPU, in which context. The only file of the tracing core that reads
// the running task.
#include <algorithm>

#include "kernel/task.h"
#include "trace/trace.h"

namespace cpustop {

namespace {

std::uint8_t context_flags(const thread_info* ti, int preempt) {
  std::uint8_t f = 0;
  if (ti->irqs_off) f |= TRACE_FLAG_IRQS_OFF;
  if (this_cpu()->need_resched.load(std::memory_order_relaxed))
    f |= TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED;
  if (preempt & HARDIRQ_MASK) f |= TRACE_FLAG_HARDIRQ;
  if (preempt & SOFTIRQ_MASK) f |= TRACE_FLAG_SOFTIRQ;
  return f;
}

}  // namespace

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

  thread_info* ti = current_thread_info();
  int preempt = ti->preempt_count;
  std::uint8_t flags = context_flags(ti, preempt);
  task_struct* curr = get_current();
  int md = curr ? curr->migration_disabled.load(std::memory_order_relaxed) : 0;
  auto pc = static_cast<std::uint8_t>(std::min(preempt & PREEMPT_MASK, 15) | std::min(md, 15) << 4);
  int pid;
  if (curr) {
    pid = curr->pid;
    if (!is_idle_task(curr)) trace_save_cmdline(pid, curr->comm);
  } else {
    const arch::host_thread_id& host = arch::this_host_thread();
    pid = host.tid;
    trace_save_cmdline(pid, host.comm);
  }

  // The CPU is read with preemption off, so that the record lands in the ring it names.
  __preempt_count_add(1);
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  unsigned idx = cpu >= 0 && static_cast<unsigned>(cpu) < tr->nr_cpus ? static_cast<unsigned>(cpu)
                                                                      : tr->nr_cpus;
  fb->ring = tr->rings[idx].get();
  auto* ent = static_cast<trace_entry*>(fb->ring->lock_reserve(size, &fb->irq_flags));
  __preempt_count_sub(1);
  ent->type = call->id;
  ent->flags = flags;
  ent->preempt_count = pc;
  ent->pid = pid;
  fb->entry = ent;
  return ent;
}

void trace_event_buffer_commit(trace_event_buffer* fb) {
  if (fb->ring) fb->ring->unlock_commit(fb->irq_flags);
}

}  // namespace cpustop

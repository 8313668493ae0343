// The public preemption API and might_sleep().
#include "kernel/preempt.h"

#include "kernel/printk.h"
#include "kernel/task.h"

namespace cpustop {

void preempt_disable() {
  __preempt_count_add(1);
}
void preempt_enable() {
  __preempt_enable();
}
void preempt_enable_no_resched() {
  __preempt_count_sub(1);
}
int preempt_count() {
  return __preempt_count();
}
bool preemptible() {
  return __preempt_count() == 0 && !__irqs_disabled();
}

void local_irq_disable() {
  current_thread_info()->irqs_off = 1;
}

void local_irq_enable() {
  thread_info* ti = current_thread_info();
  ti->irqs_off = 0;
  if (ti->preempt_count == 0) irq_enable_point();
}

unsigned long local_irq_save() {
  thread_info* ti = current_thread_info();
  unsigned long flags = static_cast<unsigned long>(ti->irqs_off);
  ti->irqs_off = 1;
  return flags;
}

void local_irq_restore(unsigned long flags) {
  thread_info* ti = current_thread_info();
  ti->irqs_off = static_cast<int>(flags);
  if (!flags && ti->preempt_count == 0) irq_enable_point();
}

bool irqs_disabled() {
  return __irqs_disabled();
}

bool in_interrupt() {
  return __preempt_count() & (HARDIRQ_MASK | SOFTIRQ_MASK);
}

bool in_task() {
  task_struct* p = get_current();
  return p && !is_idle_task(p) && !in_interrupt();
}

bool __might_sleep(const char* where) {
  if (!in_atomic() && !__irqs_disabled()) return true;
  task_struct* p = get_current();
  printk_fmt("BUG: sleeping function called from invalid context at %s", where);
  printk_fmt("in_atomic(): %d, irqs_disabled(): %d, pid: %d, name: %s", in_atomic() ? 1 : 0,
             __irqs_disabled() ? 1 : 0, p ? p->pid : -1, p ? p->comm : "<external>");
  return false;
}

int cond_resched() {
  thread_info* ti = current_thread_info();
  task_struct* p = get_current();
  if (!p || is_idle_task(p) || ti->preempt_count || ti->irqs_off) return 0;
  cpu_hot* h = this_cpu();
  if (unlikely(h->pending.load(std::memory_order_relaxed))) do_pending_irqs();
  if (!need_resched()) return 0;
  preempt_schedule();
  return 1;
}

}  // namespace cpustop

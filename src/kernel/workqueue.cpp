// The per-CPU worker pools. Each CPU's kworker/N:0 is an smpboot thread that drains its pool's
// worklist; flush_work() waits on the pool until the work is neither queued nor running.
#include "kernel/workqueue.h"

#include "kernel/sched/wait.h"
#include "kernel/smpboot.h"
#include "kernel/stop_machine.h"
#include "kernel/symbol.h"
#include "trace/events.h"

namespace cpustop {

namespace {

constexpr unsigned long WORK_STRUCT_PENDING = 1;
constexpr int WORK_CPU_SHIFT = 8;

struct worker_pool {
  raw_spinlock_t lock;
  list_head worklist;
  work_struct* current_work = nullptr;
  wait_queue_head flush_wq;
  task_struct* store = nullptr;               // smpboot's slot
  std::atomic<task_struct*> worker{nullptr};  // what queue_work_on reads
};

worker_pool* pools;

int worker_should_run(unsigned cpu) {
  worker_pool* pool = &pools[cpu];
  spin_irqsave_guard g(&pool->lock);
  return !list_empty(&pool->worklist);
}

void worker_thread(unsigned cpu) {
  worker_pool* pool = &pools[cpu];
  for (;;) {
    work_struct* work;
    {
      spin_irqsave_guard g(&pool->lock);
      if (list_empty(&pool->worklist)) return;
      work = list_first_entry(&pool->worklist, work_struct, entry);
      list_del_init(&work->entry);
      // Clear pending before running, so that the work may queue itself again.
      work->data.fetch_and(~WORK_STRUCT_PENDING, std::memory_order_acq_rel);
      pool->current_work = work;
    }
    work_func_t fn = work->func;
    trace_workqueue_execute_start(work, reinterpret_cast<unsigned long>(fn));
    fn(work);
    trace_workqueue_execute_end(work, reinterpret_cast<unsigned long>(fn));
    {
      spin_irqsave_guard g(&pool->lock);
      pool->current_work = nullptr;
    }
    wake_up_all(&pool->flush_wq);
    cond_resched();
  }
}

task_struct** worker_store(unsigned cpu) {
  return &pools[cpu].store;
}

void worker_create(unsigned cpu) {
  pools[cpu].worker.store(pools[cpu].store, std::memory_order_release);
}

// Before the CPU goes down its worker runs what is still queued (the kernel hands it to an
// unbound pool instead).
void worker_park(unsigned cpu) {
  worker_thread(cpu);
}

smp_hotplug_thread worker_threads = {
    .store = worker_store,
    .thread_should_run = worker_should_run,
    .thread_fn = worker_thread,
    .create = worker_create,
    .park = worker_park,
    .thread_comm = "kworker/%u:0",
};

}  // namespace

void workqueue_init() {
  pools = new worker_pool[nr_cpu_ids_];
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    raw_spin_lock_init(&pools[c].lock, LOCK_WAIT_QUEUE);
    init_waitqueue_head(&pools[c].flush_wq);
  }
  smpboot_register_percpu_thread(&worker_threads);
}

void workqueue_exit() {
  if (!pools) return;
  for (unsigned c = 0; c < nr_cpu_ids_; c++) pools[c].worker.store(nullptr);
  synchronize_sched();  // a queue_work_on may still hold a pointer it loaded
  smpboot_unregister_percpu_thread(&worker_threads);
  delete[] pools;
  pools = nullptr;
}

bool work_pending(const work_struct* work) {
  return work->data.load(std::memory_order_acquire) & WORK_STRUCT_PENDING;
}

bool queue_work_on(int cpu, work_struct* work) {
  if (!pools || cpu < 0 || static_cast<unsigned>(cpu) >= nr_cpu_ids_ || !cpu_online(cpu))
    return false;
  unsigned long old = work->data.fetch_or(WORK_STRUCT_PENDING, std::memory_order_acq_rel);
  if (old & WORK_STRUCT_PENDING) return false;
  work->data.store(WORK_STRUCT_PENDING | (static_cast<unsigned long>(cpu) << WORK_CPU_SHIFT),
                   std::memory_order_release);
  worker_pool* pool = &pools[cpu];
  {
    spin_irqsave_guard g(&pool->lock);
    list_add_tail(&work->entry, &pool->worklist);
  }
  if (task_struct* worker = pool->worker.load(std::memory_order_acquire)) wake_up_process(worker);
  return true;
}

bool schedule_work(work_struct* work) {
  __preempt_count_add(1);
  int cpu = raw_smp_processor_id();
  bool ret = queue_work_on(cpu < 0 ? static_cast<int>(cpu_online_mask.load().first()) : cpu, work);
  __preempt_enable();
  return ret;
}

bool flush_work(work_struct* work) {
  if (!pools) return false;
  auto cpu = static_cast<unsigned>(work->data.load(std::memory_order_acquire) >> WORK_CPU_SHIFT);
  if (cpu >= nr_cpu_ids_) return false;
  worker_pool* pool = &pools[cpu];
  auto busy = [&] {
    spin_irqsave_guard g(&pool->lock);
    return work_pending(work) || pool->current_work == work;
  };
  if (!busy()) return false;
  wait_event(pool->flush_wq, [&] { return !busy(); });
  return true;
}

}  // namespace cpustop

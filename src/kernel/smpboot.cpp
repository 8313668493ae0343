// Per-CPU hotplug threads (kernel/smpboot.c).
#include "kernel/smpboot.h"

#include "kernel/bug.h"
#include "kernel/cpu.h"
#include "kernel/kthread.h"
#include "kernel/printk.h"
#include "kernel/sched/wait.h"

namespace cpustop {

namespace {

struct smpboot_thread_data {
  unsigned cpu;
  hp_thread_status status;
  smp_hotplug_thread* ht;
};

list_head hotplug_threads;
mutex smpboot_threads_lock;

// The one transition function of the thread-status machine.
void set_status(smpboot_thread_data* td, hp_thread_status to) {
  hp_thread_status from = td->status;
  bool legal = (from == hp_thread_status::none && to == hp_thread_status::active) ||
               (from == hp_thread_status::active && to == hp_thread_status::parked) ||
               (from == hp_thread_status::parked && to == hp_thread_status::active);
  if (unlikely(!legal))
    panic("smpboot thread %s/%u: %s -> %s", td->ht->thread_comm, td->cpu,
          hp_thread_status_name(from), hp_thread_status_name(to));
  td->status = to;
}

// The loop of every per-CPU hotplug thread. The state is set before the checks, with
// preemption off, so that a wakeup between a check and schedule() is never lost.
int smpboot_thread_fn(void* data) {
  auto* td = static_cast<smpboot_thread_data*>(data);
  smp_hotplug_thread* ht = td->ht;
  for (;;) {
    set_current_state(TASK_INTERRUPTIBLE);
    preempt_disable();
    if (kthread_should_stop()) {
      __set_current_state(TASK_RUNNING);
      preempt_enable();
      if (ht->cleanup && td->status != hp_thread_status::none)
        ht->cleanup(td->cpu, cpu_online(static_cast<int>(td->cpu)));
      delete td;
      return 0;
    }
    if (kthread_should_park()) {
      __set_current_state(TASK_RUNNING);
      preempt_enable();
      if (ht->park && td->status == hp_thread_status::active) {
        BUG_ON(static_cast<int>(td->cpu) != raw_smp_processor_id());
        ht->park(td->cpu);
        set_status(td, hp_thread_status::parked);
      }
      kthread_parkme();
      continue;
    }
    BUG_ON(static_cast<int>(td->cpu) != raw_smp_processor_id());
    if (td->status == hp_thread_status::none) {
      __set_current_state(TASK_RUNNING);
      preempt_enable();
      if (ht->setup) ht->setup(td->cpu);
      set_status(td, hp_thread_status::active);
      continue;
    }
    if (td->status == hp_thread_status::parked) {
      __set_current_state(TASK_RUNNING);
      preempt_enable();
      if (ht->unpark) ht->unpark(td->cpu);
      set_status(td, hp_thread_status::active);
      continue;
    }
    if (!ht->thread_should_run(td->cpu)) {
      preempt_enable_no_resched();
      schedule();
    } else {
      __set_current_state(TASK_RUNNING);
      preempt_enable();
      ht->thread_fn(td->cpu);
    }
  }
}

int __smpboot_create_thread(smp_hotplug_thread* ht, unsigned cpu) {
  if (*ht->store(cpu)) return 0;
  auto* td = new smpboot_thread_data{cpu, hp_thread_status::none, ht};
  int err = 0;
  task_struct* tsk = kthread_create_on_cpu(smpboot_thread_fn, td, cpu, ht->thread_comm, &err);
  if (!tsk) {
    delete td;
    return err ? err : -ENOMEM;
  }
  kthread_set_per_cpu(tsk, static_cast<int>(cpu));
  // Park the thread so that it is off the CPU until it is needed.
  kthread_park(tsk);
  get_task_struct(tsk);
  *ht->store(cpu) = tsk;
  if (ht->create) {
    if (!wait_task_inactive(tsk, TASK_PARKED))
      WARN(1, "%s did not park", tsk->comm);
    else
      ht->create(cpu);
  }
  return 0;
}

void smpboot_destroy_threads(smp_hotplug_thread* ht) {
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
    if (task_struct* tsk = *ht->store(cpu)) {
      kthread_stop(tsk);
      put_task_struct(tsk);
      *ht->store(cpu) = nullptr;
    }
  }
}

}  // namespace

const char* hp_thread_status_name(hp_thread_status s) {
  switch (s) {
    case hp_thread_status::none:
      return "none";
    case hp_thread_status::active:
      return "active";
    case hp_thread_status::parked:
      return "parked";
  }
  return "?";
}

int smpboot_create_threads(unsigned cpu) {
  mutex_lock(&smpboot_threads_lock);
  int ret = 0;
  smp_hotplug_thread* cur;
  list_for_each_entry(cur, &hotplug_threads, list) {
    ret = __smpboot_create_thread(cur, cpu);
    if (ret) break;
  }
  mutex_unlock(&smpboot_threads_lock);
  return ret;
}

int smpboot_unpark_threads(unsigned cpu) {
  mutex_lock(&smpboot_threads_lock);
  smp_hotplug_thread* cur;
  list_for_each_entry(cur, &hotplug_threads, list) {
    if (!cur->selfparking && *cur->store(cpu)) kthread_unpark(*cur->store(cpu));
  }
  mutex_unlock(&smpboot_threads_lock);
  return 0;
}

int smpboot_park_threads(unsigned cpu) {
  mutex_lock(&smpboot_threads_lock);
  for (list_head* pos = hotplug_threads.prev; pos != &hotplug_threads; pos = pos->prev) {
    smp_hotplug_thread* cur = list_entry(pos, smp_hotplug_thread, list);
    if (!cur->selfparking && *cur->store(cpu)) kthread_park(*cur->store(cpu));
  }
  mutex_unlock(&smpboot_threads_lock);
  return 0;
}

int smpboot_register_percpu_thread(smp_hotplug_thread* ht) {
  cpus_read_lock();
  mutex_lock(&smpboot_threads_lock);
  int ret = 0;
  for (unsigned cpu : cpu_online_mask.load()) {
    ret = __smpboot_create_thread(ht, cpu);
    if (ret) {
      smpboot_destroy_threads(ht);
      break;
    }
    if (!ht->selfparking) kthread_unpark(*ht->store(cpu));
  }
  if (!ret) list_add(&ht->list, &hotplug_threads);
  mutex_unlock(&smpboot_threads_lock);
  cpus_read_unlock();
  return ret;
}

void smpboot_unregister_percpu_thread(smp_hotplug_thread* ht) {
  cpus_read_lock();
  mutex_lock(&smpboot_threads_lock);
  list_del_init(&ht->list);
  smpboot_destroy_threads(ht);
  mutex_unlock(&smpboot_threads_lock);
  cpus_read_unlock();
}

}  // namespace cpustop

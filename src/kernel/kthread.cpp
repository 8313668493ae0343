// Kernel threads (kernel/kthread.c). kthread_create() queues a request to kthreadd, which
// creates a task running kthread(); that task reports back, sleeps until its creator wakes it,
// parks if asked, then runs threadfn.
#include "kernel/kthread.h"

#include <cstdarg>
#include <cstdio>
#include <string>

#include "kernel/bug.h"
#include "kernel/fork.h"
#include "kernel/printk.h"
#include "kernel/sched/wait.h"
#include "kernel/time/hrtimer.h"

namespace cpustop {

task_struct* kthreadd_task;

namespace {

struct kthread_create_info {
  int (*threadfn)(void*);
  void* data;
  std::string name;
  task_struct* result = nullptr;
  int err = 0;
  completion done;
  list_head list;
};

list_head kthread_create_list;
raw_spinlock_t kthread_create_lock{0, LOCK_KTHREAD_CREATE, 0};
std::atomic<bool> kthreadd_should_exit{false};
completion kthreadd_exited;

[[noreturn]] void kthread_exit(int result) {
  task_struct* self = get_current();
  kthread* k = to_kthread(self);
  k->result = result;
  complete_all(&k->exited);
  do_exit(result);
}

// The first function of every kernel thread.
int kthread_main(void* arg) {
  auto* create = static_cast<kthread_create_info*>(arg);
  task_struct* self = get_current();
  kthread* k = to_kthread(self);
  int (*threadfn)(void*) = create->threadfn;
  void* data = create->data;
  // Report to the creator and sleep until it wakes us (create lives on its stack: done).
  set_current_state(TASK_UNINTERRUPTIBLE);
  create->result = self;
  complete(&create->done);
  schedule();
  int ret = -EINTR;
  if (!(k->flags.load() & KTHREAD_SHOULD_STOP)) {
    kthread_parkme();
    ret = threadfn(data);
  }
  kthread_exit(ret);
}

void create_kthread(kthread_create_info* create) {
  int err;
  task_struct* p = kernel_thread(kthread_main, create, create->name.c_str(), &err);
  if (!p) {
    create->err = err;
    complete(&create->done);
  }
}

}  // namespace

task_struct* kernel_thread(int (*fn)(void*), void* arg, const char* name, int* err) {
  task_create_args args;
  args.name = name;
  args.kthread = true;
  args.threadfn = fn;
  args.threadfn_data = arg;
  task_struct* p = copy_process(args, err);
  if (!p) return nullptr;
  p->kthread_data = new kthread;
  init_completion(&p->kthread_data->parked);
  init_completion(&p->kthread_data->exited);
  wake_up_new_task(p);
  return p;
}

int kthreadd(void*) {
  for (;;) {
    set_current_state(TASK_INTERRUPTIBLE);
    bool empty;
    {
      spin_irqsave_guard g(&kthread_create_lock);
      empty = list_empty(&kthread_create_list);
    }
    if (empty) {
      if (kthreadd_should_exit.load(std::memory_order_acquire)) break;
      schedule();
    }
    __set_current_state(TASK_RUNNING);
    unsigned long flags = __raw_spin_lock_irqsave(&kthread_create_lock);
    while (!list_empty(&kthread_create_list)) {
      auto* create = list_first_entry(&kthread_create_list, kthread_create_info, list);
      list_del_init(&create->list);
      __raw_spin_unlock_irqrestore(&kthread_create_lock, flags);
      create_kthread(create);
      flags = __raw_spin_lock_irqsave(&kthread_create_lock);
    }
    __raw_spin_unlock_irqrestore(&kthread_create_lock, flags);
  }
  __set_current_state(TASK_RUNNING);
  complete_all(&kthreadd_exited);
  return 0;
}

void kthreadd_stop() {
  task_struct* k = kthreadd_task;
  // Hold a reference: kthreadd may see the flag and exit while we are still waking it.
  get_task_struct(k);
  init_completion(&kthreadd_exited);
  kthreadd_should_exit.store(true, std::memory_order_release);
  wake_up_process(k);
  wait_for_completion(&kthreadd_exited);
  put_task_struct(k);
  kthreadd_should_exit.store(false, std::memory_order_relaxed);
  kthreadd_task = nullptr;
}

static task_struct* kthread_create_on_node(int (*threadfn)(void*), void* data, std::string name,
                                           int* err) {
  if (!kthreadd_task) {
    if (err) *err = -ENODEV;
    return nullptr;
  }
  kthread_create_info create;
  create.threadfn = threadfn;
  create.data = data;
  create.name = std::move(name);
  init_completion(&create.done);
  {
    spin_irqsave_guard g(&kthread_create_lock);
    list_add_tail(&create.list, &kthread_create_list);
  }
  wake_up_process(kthreadd_task);
  wait_for_completion(&create.done);
  if (err) *err = create.err;
  return create.result;
}

task_struct* kthread_create(int (*threadfn)(void*), void* data, const char* name, int* err) {
  return kthread_create_on_node(threadfn, data, name, err);
}

task_struct* kthread_create_on_cpu(int (*threadfn)(void*), void* data, unsigned cpu,
                                   const char* namefmt, int* err) {
  char name[TASK_COMM_LEN * 2];
  std::snprintf(name, sizeof(name), namefmt, cpu);
  task_struct* p = kthread_create_on_node(threadfn, data, name, err);
  if (!p) return nullptr;
  kthread_bind(p, cpu);
  // CPU hotplug needs to bind once again when unparking the thread.
  to_kthread(p)->cpu = cpu;
  return p;
}

static void __kthread_bind_mask(task_struct* p, const cpumask& mask, unsigned state) {
  if (!wait_task_inactive(p, state)) {
    WARN(1, "kthread_bind of %s/%d while it runs", p->comm, p->pid);
    return;
  }
  unsigned long flags = __raw_spin_lock_irqsave(&p->pi_lock);
  p->cpus_mask = mask;
  p->nr_cpus_allowed = static_cast<int>(mask.weight());
  p->flags |= PF_NO_SETAFFINITY;
  __raw_spin_unlock_irqrestore(&p->pi_lock, flags);
}

void kthread_bind(task_struct* p, unsigned cpu) {
  __kthread_bind_mask(p, cpumask::of(cpu), TASK_UNINTERRUPTIBLE);
}

void kthread_set_per_cpu(task_struct* k, int cpu) {
  kthread* kt = to_kthread(k);
  if (cpu < 0) {
    kt->flags.fetch_and(~KTHREAD_IS_PER_CPU);
    return;
  }
  kt->cpu = static_cast<unsigned>(cpu);
  kt->flags.fetch_or(KTHREAD_IS_PER_CPU);
}

bool kthread_is_per_cpu(task_struct* p) {
  return (p->flags & PF_KTHREAD) && p->kthread_data &&
         (p->kthread_data->flags.load(std::memory_order_relaxed) & KTHREAD_IS_PER_CPU);
}

bool kthread_should_stop() {
  task_struct* p = get_current();
  return p && p->kthread_data && (p->kthread_data->flags.load() & KTHREAD_SHOULD_STOP);
}

bool kthread_should_park() {
  task_struct* p = get_current();
  return p && p->kthread_data && (p->kthread_data->flags.load() & KTHREAD_SHOULD_PARK);
}

void kthread_parkme() {
  task_struct* self = get_current();
  kthread* k = to_kthread(self);
  for (;;) {
    // Not set_current_state(): a wakeup for the sleep before this one (a queue_work, a stop
    // work) could still turn TASK_PARKED into TASK_RUNNING, and cpu_down() would return with
    // the thread unparked.
    set_special_state(TASK_PARKED);
    if (!(k->flags.load() & KTHREAD_SHOULD_PARK)) break;
    // Tell kthread_park() we are parking; it then waits until we are off the CPU. Not
    // preemptible in between, or kthread_park() would wait for us to run again.
    preempt_disable();
    complete(&k->parked);
    schedule_preempt_disabled();
    preempt_enable();
    // Unparked: kthread_unpark() cleared the flag before its wakeup. Leave without storing
    // TASK_PARKED again, so that a thread cpu_up() unparked is never seen parked after it
    // returns, however long this CPU is held off between that store and the check.
    if (!(k->flags.load() & KTHREAD_SHOULD_PARK)) break;
  }
  __set_current_state(TASK_RUNNING);
}

int kthread_park(task_struct* k) {
  kthread* kt = to_kthread(k);
  if (k->flags & PF_EXITING) return -ENOSYS;
  if (kt->flags.fetch_or(KTHREAD_SHOULD_PARK) & KTHREAD_SHOULD_PARK) return -EBUSY;
  if (k != get_current()) {
    wake_up_process(k);
    wait_for_completion(&kt->parked);
    wait_task_inactive(k, TASK_PARKED);
  }
  return 0;
}

void kthread_unpark(task_struct* k) {
  kthread* kt = to_kthread(k);
  if (!(kt->flags.load() & KTHREAD_SHOULD_PARK)) return;
  // Re-bind a per-CPU thread: its CPU may have been offline while it parked elsewhere.
  if (kthread_is_per_cpu(k)) __kthread_bind_mask(k, cpumask::of(kt->cpu), TASK_PARKED);
  reinit_completion(&kt->parked);
  kt->flags.fetch_and(~KTHREAD_SHOULD_PARK);
  wake_up_state(k, TASK_PARKED);
}

int kthread_stop(task_struct* k) {
  kthread* kt = to_kthread(k);
  get_task_struct(k);
  kt->flags.fetch_or(KTHREAD_SHOULD_STOP);
  kthread_unpark(k);
  wake_up_process(k);
  wait_for_completion(&kt->exited);
  int ret = kt->result;
  put_task_struct(k);
  return ret;
}

}  // namespace cpustop

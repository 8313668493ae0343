// The per-CPU stopper (kernel/stop_machine.c). The spine:
//   stop_one_cpu -> cpu_stop_queue_work -> __cpu_stop_queue_work -> list_add_tail
//                -> wake_up_process(migration/N)
// and on the target: cpu_stopper_thread -> fn.
//
// Invariants kept here: the enabled check and the enqueue are atomic
// under the stopper lock; nothing is woken while a stopper lock is held, and preemption stays off
// from queueing to waking; multi-CPU queueing is all or none, in ascending CPU order, and never
// interleaves with a stop_cpus() that is queueing; the shared stop_work buffers are serialised by
// stop_cpus_mutex; a work is never queued while linked.
#include "kernel/stop_machine.h"

#include <cstdio>
#include <exception>

#include "kernel/bug.h"
#include "kernel/cpu.h"
#include "kernel/fault_inject.h"
#include "kernel/kthread.h"
#include "kernel/printk.h"
#include "kernel/sched/wait.h"
#include "kernel/smpboot.h"
#include "kernel/symbol.h"
#include "kernel/system.h"
#include "trace/events.h"

namespace cpustop {

struct cpu_stop_done {
  std::atomic<unsigned> nr_todo;  // works left to finish
  std::atomic<int> ret;           // collected return value (last non-zero wins)
  completion done;                // fired when nr_todo reaches 0
};

struct cpu_stopper {
  task_struct* thread = nullptr;
  raw_spinlock_t lock;
  std::atomic<bool> enabled{false};      // the CPU may take work
  list_head works;                       // FIFO of cpu_stop_work
  cpu_stop_work stop_work;               // for stop_cpus(), serialised by stop_cpus_mutex
  std::atomic<unsigned long> caller{0};  // the running work, for print_stop_info()
  std::atomic<cpu_stop_fn_t> fn{nullptr};
  std::atomic<unsigned long> works_done{0};
};

namespace {

cpu_stopper* cpu_stoppers;
mutex stop_cpus_mutex;
std::atomic<bool> stop_cpus_in_progress{false};
std::atomic<bool> stop_machine_initialized{false};

inline cpu_stopper* per_cpu_stopper(unsigned cpu) {
  return &cpu_stoppers[cpu];
}

inline unsigned long ret_ip() {
  return reinterpret_cast<unsigned long>(__builtin_return_address(0));
}

void cpu_stop_init_done(cpu_stop_done* done, unsigned nr_todo) {
  done->nr_todo.store(nr_todo, std::memory_order_relaxed);
  done->ret.store(0, std::memory_order_relaxed);
  init_completion(&done->done);
}

// Signal completion unless a work is still pending.
void cpu_stop_signal_done(cpu_stop_done* done) {
  if (done->nr_todo.fetch_sub(1, std::memory_order_acq_rel) == 1) complete(&done->done);
}

// With the stopper lock held.
void __cpu_stop_queue_work(unsigned cpu, cpu_stopper* stopper, cpu_stop_work* work) {
  list_add_tail(&work->list, &stopper->works);
  trace_cpu_stop_queue(cpu, work->fn, work->caller);
}

// Claims a work for queueing; false (and a report) if it is still queued somewhere.
bool cpu_stop_claim_work(cpu_stop_work* work) {
  if (!work->queued.exchange(true, std::memory_order_acq_rel)) return true;
  printk_fmt("BUG: cpu_stop: work %p (%s) queued while still queued", static_cast<void*>(work),
             symbol_name(reinterpret_cast<unsigned long>(work->fn)).c_str());
  return false;
}

// Queues a claimed work. Returns true if queued, false if the stopper is disabled (the work is
// released and its done, if any, signalled at once).
bool cpu_stop_queue_work(unsigned cpu, cpu_stop_work* work) {
  cpu_stopper* stopper = per_cpu_stopper(cpu);
  __preempt_count_add(1);
  unsigned long flags = __raw_spin_lock_irqsave(&stopper->lock);
  bool enabled = stopper->enabled.load(std::memory_order_relaxed);
  if (enabled) __cpu_stop_queue_work(cpu, stopper, work);
  __raw_spin_unlock_irqrestore(&stopper->lock, flags);
  // Never wake (or complete) under the stopper lock; preemption stays off until both are done,
  // so that the local stopper cannot preempt us in between.
  if (enabled) {
    wake_up_process(stopper->thread);
  } else {
    work->queued.store(false, std::memory_order_release);
    if (work->done) cpu_stop_signal_done(work->done);
  }
  __preempt_enable();
  return enabled;
}

// Runs a stop function; an exception escaping it is logged and becomes -EFAULT.
int call_stop_fn(cpu_stop_fn_t fn, void* arg) {
  try {
    return fn(arg);
  } catch (const std::exception& e) {
    printk_fmt("cpu_stop: %s(%p) threw: %s",
               symbol_name(reinterpret_cast<unsigned long>(fn)).c_str(), arg, e.what());
  } catch (...) {
    printk_fmt("cpu_stop: %s(%p) threw", symbol_name(reinterpret_cast<unsigned long>(fn)).c_str(),
               arg);
  }
  return -EFAULT;
}

// ---- multi_cpu_stop ----------------------------------------------------------------------------

enum multi_stop_state : std::uint32_t {
  MULTI_STOP_NONE,     // dummy starting state for thread
  MULTI_STOP_PREPARE,  // awaiting everyone to be scheduled
  MULTI_STOP_DISABLE_IRQ,
  MULTI_STOP_RUN,
  MULTI_STOP_EXIT,
};

struct multi_stop_data {
  cpu_stop_fn_t fn;
  void* data;
  unsigned num_threads;  // fixed by the caller: hotplug itself runs through here
  const cpumask* active_cpus;
  std::atomic<std::uint32_t> state{MULTI_STOP_NONE};
  std::atomic<int> thread_ack{0};
  std::atomic<int> sleepers{0};
};

// The one transition function of the state machine: states only ever advance by one.
void set_state(multi_stop_data* msdata, multi_stop_state newstate) {
  std::uint32_t old = msdata->state.load(std::memory_order_relaxed);
  if (unlikely(newstate != MULTI_STOP_PREPARE && newstate != old + 1))
    panic("multi_stop state %u -> %u", old, newstate);
  // Reset ack counter, then publish the state.
  msdata->thread_ack.store(static_cast<int>(msdata->num_threads), std::memory_order_relaxed);
  // seq_cst store, then load: the Dekker pair with stop_machine_yield()'s sleepers count
  // (models/multi_cpu_stop.pml: BROKEN_SLEEPERS_READ_EARLY loses the wakeup).
  msdata->state.store(newstate, std::memory_order_seq_cst);
  if (msdata->sleepers.load(std::memory_order_seq_cst)) cond_wake(&msdata->state);
}

// Last one to ack a state moves to the next state.
void ack_state(multi_stop_data* msdata) {
  if (msdata->thread_ack.fetch_sub(1, std::memory_order_acq_rel) == 1)
    set_state(msdata, static_cast<multi_stop_state>(msdata->state.load() + 1));
}

// stop_machine_yield(): the kernel's default is cpu_relax(); here the other participants'
// threads may need our host CPU, so we spin boundedly and then sleep on the state word, counted
// in sleepers so that set_state() wakes us.
std::uint32_t stop_machine_yield(multi_stop_data* msdata, std::uint32_t curstate) {
  std::uint32_t s;
  if (cond_spin([&] { return (s = msdata->state.load(std::memory_order_acquire)) != curstate; }))
    return s;
  msdata->sleepers.fetch_add(1, std::memory_order_seq_cst);
  s = msdata->state.load(std::memory_order_seq_cst);
  if (s == curstate) cond_block(&msdata->state, curstate, COND_FOREVER);
  msdata->sleepers.fetch_sub(1, std::memory_order_relaxed);
  return msdata->state.load(std::memory_order_acquire);
}

// This is the cpu_stop function which stops the CPU.
int multi_cpu_stop(void* data) {
  auto* msdata = static_cast<multi_stop_data*>(data);
  std::uint32_t curstate = MULTI_STOP_NONE;
  int cpu = raw_smp_processor_id();
  bool is_active = msdata->active_cpus ? cpumask_test_cpu(cpu, msdata->active_cpus)
                                       : cpu == static_cast<int>(cpu_online_mask.load().first());
  unsigned long flags = static_cast<unsigned long>(current_thread_info()->irqs_off);
  int err = 0;
  do {
    std::uint32_t newstate = stop_machine_yield(msdata, curstate);
    if (newstate != curstate) {
      curstate = newstate;
      switch (curstate) {
        case MULTI_STOP_DISABLE_IRQ:
          current_thread_info()->irqs_off = 1;
          break;
        case MULTI_STOP_RUN:
          // Everyone must still ack RUN and EXIT: a throwing fn may not leave the others spinning.
          if (is_active) err = call_stop_fn(msdata->fn, msdata->data);
          break;
        default:
          break;
      }
      if (!(curstate == MULTI_STOP_RUN && !is_active && fault_injected(sim::fault::skip_ack)))
        ack_state(msdata);
    }
  } while (curstate != MULTI_STOP_EXIT);
  current_thread_info()->irqs_off = static_cast<int>(flags);
  return err;
}

// ---- Queueing on several CPUs
// ----------------------------------------------------------------------

// sim::fault::pair_own_lock_only: the pre-b17718d02f54 queueing, each work under its own lock.
int cpu_stop_queue_two_works_own_locks(unsigned cpu1, cpu_stop_work* work1, unsigned cpu2,
                                       cpu_stop_work* work2) {
  cpu_stopper* stoppers[2] = {per_cpu_stopper(cpu1), per_cpu_stopper(cpu2)};
  if (!stoppers[0]->enabled.load() || !stoppers[1]->enabled.load()) return -ENOENT;
  __preempt_count_add(1);
  unsigned cpus[2] = {cpu1, cpu2};
  cpu_stop_work* works[2] = {work1, work2};
  for (int i = 0; i < 2; i++) {
    unsigned long flags = __raw_spin_lock_irqsave(&stoppers[i]->lock);
    works[i]->queued.store(true, std::memory_order_relaxed);
    __cpu_stop_queue_work(cpus[i], stoppers[i], works[i]);
    __raw_spin_unlock_irqrestore(&stoppers[i]->lock, flags);
  }
  wake_up_process(stoppers[0]->thread);
  wake_up_process(stoppers[1]->thread);
  __preempt_enable();
  return 0;
}

int cpu_stop_queue_two_works(unsigned cpu1, cpu_stop_work* work1, unsigned cpu2,
                             cpu_stop_work* work2) {
  cpu_stopper* stopper1 = per_cpu_stopper(cpu1);
  cpu_stopper* stopper2 = per_cpu_stopper(cpu2);
  const bool preempt_off = !fault_injected(sim::fault::pair_wake_preemptible);
  for (;;) {
    if (fault_injected(sim::fault::pair_own_lock_only)) {
      int err = cpu_stop_queue_two_works_own_locks(cpu1, work1, cpu2, work2);
      if (err == -EDEADLK) continue;
      return err;
    }
    // The lock order is the CPU order (cpu1 < cpu2): stop_two_cpus() calls cannot form a
    // cycle (b17718d02f54).
    if (preempt_off) __preempt_count_add(1);
    unsigned long flags = __raw_spin_lock_irqsave(&stopper1->lock);
    __raw_spin_lock(&stopper2->lock);
    int err;
    if (!stopper1->enabled.load(std::memory_order_relaxed) ||
        !stopper2->enabled.load(std::memory_order_relaxed)) {
      err = -ENOENT;
    } else if (stop_cpus_in_progress.load(std::memory_order_acquire) &&
               !fault_injected(sim::fault::no_stop_cpus_in_progress)) {
      // Ensure that if we race with __stop_cpus() the stoppers won't get queued up in reverse
      // order, which could deadlock.
      err = -EDEADLK;
    } else {
      err = 0;
      work1->queued.store(true, std::memory_order_relaxed);
      work2->queued.store(true, std::memory_order_relaxed);
      __cpu_stop_queue_work(cpu1, stopper1, work1);
      __cpu_stop_queue_work(cpu2, stopper2, work2);
    }
    __raw_spin_unlock(&stopper2->lock);
    __raw_spin_unlock_irqrestore(&stopper1->lock, flags);
    if (err == -EDEADLK) {
      if (preempt_off) __preempt_enable();
      cond_wait([] { return !stop_cpus_in_progress.load(std::memory_order_acquire); });
      continue;
    }
    if (!err) {
      wake_up_process(stopper1->thread);
      wake_up_process(stopper2->thread);
    }
    if (preempt_off) __preempt_enable();
    return err;
  }
}

bool queue_stop_cpus_work(const cpumask& mask, cpu_stop_fn_t fn, void* arg, cpu_stop_done* done,
                          unsigned long caller) {
  bool queued = false;
  // Disable preemption while queueing to avoid getting preempted by a stopper which might
  // wait for other stoppers to enter @fn which can lead to deadlock.
  __preempt_count_add(1);
  stop_cpus_in_progress.store(true, std::memory_order_seq_cst);
  for (unsigned cpu : mask) {
    cpu_stop_work* work = &per_cpu_stopper(cpu)->stop_work;
    if (!cpu_stop_claim_work(work)) continue;  // cannot happen under stop_cpus_mutex
    work->fn = fn;
    work->arg = arg;
    work->done = done;
    work->caller = caller;
    if (cpu_stop_queue_work(cpu, work)) queued = true;
  }
  stop_cpus_in_progress.store(false, std::memory_order_seq_cst);
  __preempt_enable();
  return queued;
}

int __stop_cpus(const cpumask& mask, cpu_stop_fn_t fn, void* arg, unsigned long caller) {
  cpu_stop_done done;
  cpu_stop_init_done(&done, mask.weight());
  if (!queue_stop_cpus_work(mask, fn, arg, &done, caller)) return -ENOENT;
  wait_for_completion(&done.done);
  return done.ret.load(std::memory_order_acquire);
}

bool valid_cpu(unsigned cpu) {
  return stop_machine_initialized.load() && cpu < nr_cpu_ids_;
}

bool valid_mask(const cpumask* mask) {
  return mask && stop_machine_initialized.load() && mask->subset_of(cpumask::first_n(nr_cpu_ids_));
}

// The sleeping APIs refuse atomic context (a stop function, preemption disabled): waiting there
// would deadlock the CPU the work has to run on.
bool may_wait() {
  if (!in_atomic() && !__irqs_disabled()) return true;
  printk_once("BUG: sleeping stop_machine API called from invalid context (in_atomic(): %d)",
              in_atomic() ? 1 : 0);
  return false;
}

// ---- The stopper thread ------------------------------------------------------------------------

task_struct** cpu_stop_store(unsigned cpu) {
  return &per_cpu_stopper(cpu)->thread;
}

int cpu_stop_should_run(unsigned cpu) {
  cpu_stopper* stopper = per_cpu_stopper(cpu);
  spin_irqsave_guard g(&stopper->lock);
  return !list_empty(&stopper->works);
}

void cpu_stopper_thread(unsigned cpu) {
  cpu_stopper* stopper = per_cpu_stopper(cpu);
  for (;;) {
    cpu_stop_work* work = nullptr;
    {
      spin_irqsave_guard g(&stopper->lock);
      if (!list_empty(&stopper->works)) {
        work = list_first_entry(&stopper->works, cpu_stop_work, list);
        list_del_init(&work->list);
      }
    }
    if (!work) return;
    // The work may be reused (nowait) or freed (its waiter returns) once fn starts or done is
    // signalled: take what we need now and never touch it again.
    cpu_stop_fn_t fn = work->fn;
    void* arg = work->arg;
    cpu_stop_done* done = work->done;
    stopper->caller.store(work->caller, std::memory_order_relaxed);
    stopper->fn.store(fn, std::memory_order_relaxed);
    work->queued.store(false, std::memory_order_release);

    // cpu stop callbacks must not sleep, make in_atomic() == T
    __preempt_count_add(1);
    trace_cpu_stop_start(fn);
    int ret = call_stop_fn(fn, arg);
    trace_cpu_stop_finish(fn, ret);
    if (done) {
      if (ret) done->ret.store(ret, std::memory_order_relaxed);
      cpu_stop_signal_done(done);
    }
    thread_info* ti = current_thread_info();
    if (ti->preempt_count != 1) {
      printk_fmt("cpu_stop: %s(%p) leaked preempt count",
                 symbol_name(reinterpret_cast<unsigned long>(fn)).c_str(), arg);
      ti->preempt_count = 1;
    }
    if (ti->irqs_off) {
      printk_fmt("cpu_stop: %s(%p) left interrupts disabled",
                 symbol_name(reinterpret_cast<unsigned long>(fn)).c_str(), arg);
      ti->irqs_off = 0;
    }
    __preempt_count_sub(1);
    stopper->works_done.fetch_add(1, std::memory_order_relaxed);
    stopper->caller.store(0, std::memory_order_relaxed);
    stopper->fn.store(nullptr, std::memory_order_relaxed);
    cond_resched();
  }
}

void cpu_stop_create(unsigned cpu) {
  sched_set_stop_task(static_cast<int>(cpu), per_cpu_stopper(cpu)->thread);
}

void cpu_stop_park(unsigned cpu) {
  cpu_stopper* stopper = per_cpu_stopper(cpu);
  spin_irqsave_guard g(&stopper->lock);
  WARN(!list_empty(&stopper->works), "cpu_stop_park: cpu%u has works", cpu);
}

smp_hotplug_thread cpu_stop_threads = {
    .store = cpu_stop_store,
    .thread_should_run = cpu_stop_should_run,
    .thread_fn = cpu_stopper_thread,
    .create = cpu_stop_create,
    .park = cpu_stop_park,
    .selfparking = true,
    .thread_comm = "migration/%u",
};

}  // namespace

// ---- Public API ---------------------------------------------------------------------------------

int stop_one_cpu(unsigned int cpu, cpu_stop_fn_t fn, void* arg) {
  if (!valid_cpu(cpu)) return -EINVAL;
  if (!may_wait()) return -EDEADLK;
  cpu_stop_done done;
  cpu_stop_work work;
  work.fn = fn;
  work.arg = arg;
  work.done = &done;
  work.caller = ret_ip();
  work.queued.store(true, std::memory_order_relaxed);
  cpu_stop_init_done(&done, 1);
  if (!cpu_stop_queue_work(cpu, &work)) return -ENOENT;
  // In case @cpu == smp_processor_id() we can avoid a sleep+wakeup cycle by doing a
  // preemption: the stopper is runnable on our CPU now.
  cond_resched();
  wait_for_completion(&done.done);
  return done.ret.load(std::memory_order_acquire);
}

bool stop_one_cpu_nowait(unsigned int cpu, cpu_stop_fn_t fn, void* arg, cpu_stop_work* work_buf) {
  if (!valid_cpu(cpu)) return false;
  // Claim before filling: a buffer still queued keeps its fn and arg.
  if (!cpu_stop_claim_work(work_buf)) return false;
  work_buf->fn = fn;
  work_buf->arg = arg;
  work_buf->done = nullptr;
  work_buf->caller = ret_ip();
  return cpu_stop_queue_work(cpu, work_buf);
}

int stop_two_cpus(unsigned int cpu1, unsigned int cpu2, cpu_stop_fn_t fn, void* arg) {
  if (!valid_cpu(cpu1) || !valid_cpu(cpu2) || cpu1 == cpu2) return -EINVAL;
  if (!may_wait()) return -EDEADLK;
  cpu_stop_done done;
  cpu_stop_work work1, work2;
  cpumask active = cpumask::of(cpu1);
  multi_stop_data msdata;
  msdata.fn = fn;
  msdata.data = arg;
  msdata.num_threads = 2;
  msdata.active_cpus = &active;
  for (cpu_stop_work* w : {&work1, &work2}) {
    w->fn = multi_cpu_stop;
    w->arg = &msdata;
    w->done = &done;
    w->caller = ret_ip();
  }
  cpu_stop_init_done(&done, 2);
  set_state(&msdata, MULTI_STOP_PREPARE);
  if (cpu1 > cpu2) std::swap(cpu1, cpu2);
  if (cpu_stop_queue_two_works(cpu1, &work1, cpu2, &work2)) return -ENOENT;
  wait_for_completion(&done.done);
  return done.ret.load(std::memory_order_acquire);
}

int stop_cpus(const cpumask* mask, cpu_stop_fn_t fn, void* arg) {
  if (!valid_mask(mask)) return -EINVAL;
  if (!may_wait()) return -EDEADLK;
  // static works are used, process one request at a time
  mutex_lock(&stop_cpus_mutex);
  int ret = __stop_cpus(*mask, fn, arg, ret_ip());
  mutex_unlock(&stop_cpus_mutex);
  return ret;
}

int try_stop_cpus(const cpumask* mask, cpu_stop_fn_t fn, void* arg) {
  if (!valid_mask(mask)) return -EINVAL;
  if (!may_wait()) return -EDEADLK;
  if (!mutex_trylock(&stop_cpus_mutex)) return -EAGAIN;
  int ret = __stop_cpus(*mask, fn, arg, ret_ip());
  mutex_unlock(&stop_cpus_mutex);
  return ret;
}

int stop_machine_cpuslocked(cpu_stop_fn_t fn, void* data, const cpumask* cpus) {
  if (cpus && !cpus->subset_of(cpumask::first_n(NR_CPUS))) return -EINVAL;
  if (!stop_machine_initialized.load(std::memory_order_acquire)) {
    // Handle the case where stop_machine() is called early in boot before stop_machine() has
    // been initialized: run fn here, with interrupts off.
    WARN(num_online_cpus() > 1, "stop_machine before init with several CPUs");
    unsigned long flags = local_irq_save();
    int ret = fn(data);
    local_irq_restore(flags);
    return ret;
  }
  if (!may_wait()) return -EDEADLK;
  lockdep_assert_cpus_held();
  multi_stop_data msdata;
  msdata.fn = fn;
  msdata.data = data;
  msdata.num_threads = num_online_cpus();
  msdata.active_cpus = cpus;
  cpumask online = cpu_online_mask.load();
  // Set the initial state and stop all online cpus.
  set_state(&msdata, MULTI_STOP_PREPARE);
  mutex_lock(&stop_cpus_mutex);
  int ret = __stop_cpus(online, multi_cpu_stop, &msdata, ret_ip());
  mutex_unlock(&stop_cpus_mutex);
  return ret;
}

int stop_machine(cpu_stop_fn_t fn, void* data, const cpumask* cpus) {
  if (stop_machine_initialized.load() && !may_wait()) return -EDEADLK;
  cpus_read_lock();
  int ret = stop_machine_cpuslocked(fn, data, cpus);
  cpus_read_unlock();
  return ret;
}

int stop_machine_from_inactive_cpu(cpu_stop_fn_t fn, void* data, const cpumask* cpus) {
  int cpu = raw_smp_processor_id();
  if (cpu < 0 || cpu_active(cpu) || !stop_machine_initialized.load()) return -EINVAL;
  multi_stop_data msdata;
  msdata.fn = fn;
  msdata.data = data;
  msdata.active_cpus = cpus;
  cpumask active = cpu_active_mask.load();
  msdata.num_threads = active.weight() + 1;
  // No proper task established and can't sleep - busy wait for lock.
  cond_wait([] { return mutex_trylock(&stop_cpus_mutex); });
  // Schedule work on other CPUs and execute directly for local CPU.
  set_state(&msdata, MULTI_STOP_PREPARE);
  cpu_stop_done done;
  cpu_stop_init_done(&done, active.weight());
  queue_stop_cpus_work(active, multi_cpu_stop, &msdata, &done, ret_ip());
  int ret = multi_cpu_stop(&msdata);
  // Busy wait for completion.
  cond_wait([&] { return completion_done(&done.done); });
  mutex_unlock(&stop_cpus_mutex);
  return ret ? ret : done.ret.load();
}

std::string print_stop_info(const char* log_lvl, task_struct* task) {
  if (!cpu_stoppers || !task) return {};
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
    cpu_stopper* stopper = per_cpu_stopper(cpu);
    if (stopper->thread != task) continue;
    cpu_stop_fn_t fn = stopper->fn.load(std::memory_order_relaxed);
    if (!fn) return {};
    std::string s = std::string(log_lvl ? log_lvl : "") +
                    "Stopper: " + symbol_name(reinterpret_cast<unsigned long>(fn)) + " <- " +
                    symbol_name(stopper->caller.load(std::memory_order_relaxed));
    return s;
  }
  return {};
}

// ---- Lifecycle ---------------------------------------------------------------------------------

void stop_machine_park(int cpu) {
  cpu_stopper* stopper = per_cpu_stopper(static_cast<unsigned>(cpu));
  // Lockless: queued works still drain before the thread parks (the park request is only seen
  // when the list is empty).
  stopper->enabled.store(false, std::memory_order_release);
  kthread_park(stopper->thread);
}

void stop_machine_unpark(int cpu) {
  cpu_stopper* stopper = per_cpu_stopper(static_cast<unsigned>(cpu));
  stopper->enabled.store(true, std::memory_order_release);
  kthread_unpark(stopper->thread);
}

bool cpu_stopper_enabled(int cpu) {
  return cpu_stoppers && per_cpu_stopper(static_cast<unsigned>(cpu))->enabled.load();
}

task_struct* cpu_stopper_task(int cpu) {
  return cpu_stoppers ? per_cpu_stopper(static_cast<unsigned>(cpu))->thread : nullptr;
}

unsigned cpu_stop_queued(unsigned int cpu) {
  if (!cpu_stoppers || cpu >= nr_cpu_ids_) return 0;
  cpu_stopper* stopper = per_cpu_stopper(cpu);
  spin_irqsave_guard g(&stopper->lock);
  unsigned n = 0;
  for (list_head* pos = stopper->works.next; pos != &stopper->works; pos = pos->next) n++;
  return n;
}

unsigned long cpu_stop_works_done(unsigned cpu) {
  return cpu_stoppers && cpu < nr_cpu_ids_ ? per_cpu_stopper(cpu)->works_done.load() : 0;
}

bool synchronize_sched(bool cpuslocked) {
  if (!stop_machine_ready()) return false;
  auto noop = [](void*) { return 0; };
  if (cpuslocked)
    stop_machine_cpuslocked(noop, nullptr, nullptr);
  else
    stop_machine(noop, nullptr, nullptr);
  return true;
}

bool stop_machine_ready() {
  return stop_machine_initialized.load(std::memory_order_acquire);
}

int cpu_stop_init() {
  cpu_stoppers = new cpu_stopper[nr_cpu_ids_];
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++)
    raw_spin_lock_init(&per_cpu_stopper(cpu)->lock, LOCK_STOPPER, static_cast<std::uint16_t>(cpu));
  if (int err = smpboot_register_percpu_thread(&cpu_stop_threads))
    panic("cpu_stop_init: smpboot_register_percpu_thread: %d", err);
  if (boot_params_current.stop_init == stop_init_order::lego_order) {
    // LegoOS: every CPU is online already and smpboot left the (selfparking) stoppers parked.
    for (unsigned cpu : cpu_online_mask.load()) stop_machine_unpark(static_cast<int>(cpu));
  } else {
    stop_machine_unpark(raw_smp_processor_id());
  }
  stop_machine_initialized.store(true, std::memory_order_release);
  return 0;
}

void cpu_stop_exit() {
  if (!cpu_stoppers) return;
  stop_machine_initialized.store(false, std::memory_order_release);
  // Disable, then hand each stopper back to the rt class so that kthread_stop() can run it to
  // its exit: a stop-class task that is not rq->stop would never be picked.
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
    per_cpu_stopper(cpu)->enabled.store(false, std::memory_order_release);
    if (per_cpu_stopper(cpu)->thread) sched_set_stop_task(static_cast<int>(cpu), nullptr);
  }
  smpboot_unregister_percpu_thread(&cpu_stop_threads);
  delete[] cpu_stoppers;
  cpu_stoppers = nullptr;
}

}  // namespace cpustop

// CPU hotplug (kernel/cpu.c). Every CPU walks one table of states, cpuhp_hp_states[]: on the way
// up each state's startup runs as the CPU enters it, on the way down its teardown as the CPU
// leaves it. The table says where each state runs (cpuhp_step::where): the BP states and
// TEARDOWN_CPU on the control task (the caller of cpu_up()/cpu_down(), or its kworker), the
// STARTING states on the CPU itself with interrupts off (startup as it boots, teardown in
// take_cpu_down() inside stop_machine), the AP online states on cpuhp/N, the CPU's hotplug
// thread. cpuhp_step() is the one transition function: every walk, and every rollback, is a
// sequence of its steps.
#include "kernel/cpu.h"

#include <cstdio>
#include <mutex>

#include "kernel/bug.h"
#include "kernel/fork.h"
#include "kernel/init.h"
#include "kernel/printk.h"
#include "kernel/sched/hotplug.h"
#include "kernel/sched/wait.h"
#include "kernel/smpboot.h"
#include "kernel/stop_machine.h"
#include "kernel/system.h"
#include "kernel/time/hrtimer.h"
#include "kernel/workqueue.h"
#include "trace/events.h"

namespace cpustop {

namespace {

// Where a state's callbacks run.
enum class cpuhp_ctx : unsigned char {
  control,   // the control task: the caller of cpu_up()/cpu_down()/cpuhp_setup_state()
  starting,  // the CPU itself, interrupts off
  ap,        // cpuhp/N; before the CPU has its thread (early boot) the control task
};

struct cpuhp_step {
  std::string name;
  cpuhp_callback startup;
  cpuhp_callback teardown;
  cpuhp_ctx where = cpuhp_ctx::control;
};

struct cpuhp_cpu_state {
  // Also the word an offline CPU waits on: an up walk stepping it into CPUHP_BRINGUP_CPU boots
  // it (what an INIT/SIPI is to an x86 AP); CPUHP_INVALID when the machine halts.
  std::atomic<int> state{CPUHP_OFFLINE};
  // The direction of the walk (the kernel's st->bringup): a CPU is dying from the start of a
  // down walk until an up walk begins, rollbacks included.
  std::atomic<bool> bringup{true};
  completion done_up;    // the booting CPU reached AP_ONLINE_IDLE
  completion done_down;  // the dying CPU left its idle loop
  // cpuhp/N and its work, set by the control task (under the hotplug write lock) before it
  // raises should_run: walk to target, or run one state's callback (single).
  task_struct* thread = nullptr;
  std::atomic<bool> should_run{false};
  int target = CPUHP_OFFLINE;
  bool single = false;
  bool single_bringup = false;
  int cb_state = CPUHP_OFFLINE;
  int result = 0;
  completion done_ap;
};

cpuhp_step cpuhp_hp_states[CPUHP_ONLINE + 1];
cpuhp_cpu_state* per_cpu_cpuhp_state;
mutex cpu_add_remove_lock;

cpuhp_ctx cpuhp_state_ctx(int state) {
  if (state > CPUHP_AP_OFFLINE && state <= CPUHP_AP_ONLINE) return cpuhp_ctx::starting;
  if (state >= CPUHP_AP_ONLINE_IDLE) return cpuhp_ctx::ap;
  return cpuhp_ctx::control;
}

const char* cpuhp_ctx_name(cpuhp_ctx c) {
  switch (c) {
    case cpuhp_ctx::control:
      return "the control task";  // never the CPU's hotplug thread or its STARTING section
    case cpuhp_ctx::starting:
      return "the CPU with interrupts off";
    case cpuhp_ctx::ap:
      return "the CPU's hotplug thread";
  }
  return "?";
}

bool cpuhp_in_ctx(unsigned cpu, cpuhp_ctx where) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  bool on_thread = st->thread && get_current() == st->thread;
  bool starting = raw_smp_processor_id() == static_cast<int>(cpu) && irqs_disabled();
  switch (where) {
    case cpuhp_ctx::control:
      return !on_thread && !starting;
    case cpuhp_ctx::starting:
      return starting;
    case cpuhp_ctx::ap:
      return st->thread ? on_thread : !starting;
  }
  return false;
}

// Runs state's startup (bringup) or teardown for cpu, in the context the table names.
int cpuhp_invoke_callback(unsigned cpu, int state, bool bringup) {
  const cpuhp_step& step = cpuhp_hp_states[state];
  const cpuhp_callback& cb = bringup ? step.startup : step.teardown;
  if (!cb) return 0;
  if (unlikely(!cpuhp_in_ctx(cpu, step.where)))
    panic("cpuhp: %s of %s for cpu%u outside %s", bringup ? "startup" : "teardown",
          step.name.c_str(), cpu, cpuhp_ctx_name(step.where));
  trace_cpuhp_enter(cpu, state, step.name.c_str());
  int ret = cb(cpu);
  trace_cpuhp_exit(cpu, state, ret);
  return ret;
}

// The one transition function: moves cpu one state in the walk's direction and runs the
// callback of the state entered (up) or left (down). The state moves first, as the kernel's: a
// callback may move it further (bringup_cpu's AP and take_cpu_down step themselves). A failing
// callback moves it back and its error is returned for the caller to roll back; the STARTING
// section cannot fail (a warning, and the walk goes on).
int cpuhp_step(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  bool bringup = st->bringup.load();
  int from = st->state.load();
  int to = bringup ? from + 1 : from - 1;
  if (unlikely(to < CPUHP_OFFLINE || to > CPUHP_ONLINE))
    panic("cpuhp: cpu%u cannot step %s from state %d", cpu, bringup ? "up" : "down", from);
  int state = bringup ? to : from;
  st->state.store(to);
  int ret = cpuhp_invoke_callback(cpu, state, bringup);
  if (ret && cpuhp_hp_states[state].where == cpuhp_ctx::starting) {
    WARN(1, "cpu%u: %s state %s failed: %d", cpu, bringup ? "starting" : "dying",
         cpuhp_hp_states[state].name.c_str(), ret);
    ret = 0;
  }
  if (ret) st->state.store(from);
  return ret;
}

// Steps cpu until it has reached target (a callback may carry it past) or a step fails.
int cpuhp_walk(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  bool bringup = st->bringup.load();
  while (bringup ? st->state.load() < target : st->state.load() > target)
    if (int ret = cpuhp_step(cpu)) return ret;
  return 0;
}

// Has cpuhp/N do its work (set in st) and waits for it. Before the CPU has its thread the
// caller does the work itself.
int __cpuhp_kick_ap(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (!st->thread) {
    BUG_ON(st->single);
    return cpuhp_walk(cpu, st->target);
  }
  reinit_completion(&st->done_ap);
  st->should_run.store(true);
  wake_up_process(st->thread);
  wait_for_completion(&st->done_ap);
  return st->result;
}

// The AP online states of a walk: cpuhp/N walks cpu to target.
int cpuhp_kick_ap(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  st->single = false;
  st->target = target;
  return __cpuhp_kick_ap(cpu);
}

// cpuhp/N (the kernel's cpuhp_thread_fun): a walk through the AP online states, or one state's
// callback for cpuhp_setup_state()/cpuhp_remove_state() (STARTING ones with interrupts off).
int cpuhp_should_run(unsigned cpu) {
  return per_cpu_cpuhp_state[cpu].should_run.load();
}

void cpuhp_thread_fun(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (!st->should_run.exchange(false)) return;
  if (!st->single) {
    st->result = cpuhp_walk(cpu, st->target);
  } else if (cpuhp_hp_states[st->cb_state].where == cpuhp_ctx::starting) {
    unsigned long flags = local_irq_save();
    st->result = cpuhp_invoke_callback(cpu, st->cb_state, st->single_bringup);
    local_irq_restore(flags);
  } else {
    st->result = cpuhp_invoke_callback(cpu, st->cb_state, st->single_bringup);
  }
  complete(&st->done_ap);
}

task_struct** cpuhp_store(unsigned cpu) {
  return &per_cpu_cpuhp_state[cpu].thread;
}

smp_hotplug_thread cpuhp_threads = {
    .store = cpuhp_store,
    .thread_should_run = cpuhp_should_run,
    .thread_fn = cpuhp_thread_fun,
    .selfparking = true,  // bringup_cpu() unparks it, takedown_cpu() parks it
    .thread_comm = "cpuhp/%u",
};

// Up to target: the control task to BRINGUP_CPU (where the CPU boots and reaches
// AP_ONLINE_IDLE on its own), then cpuhp/N. Also the rollback of a failed down walk, from
// wherever that stopped.
int cpuhp_up(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  int ret = 0;
  if (st->state.load() < CPUHP_BRINGUP_CPU)
    ret = cpuhp_walk(cpu, std::min<int>(target, CPUHP_BRINGUP_CPU));
  // Left at TEARDOWN_CPU by a takedown that failed: nothing to start on the way back.
  if (!ret && st->state.load() == CPUHP_TEARDOWN_CPU) ret = cpuhp_walk(cpu, CPUHP_AP_ONLINE_IDLE);
  if (!ret && st->state.load() < target) ret = cpuhp_kick_ap(cpu, target);
  return ret;
}

// Down to target: cpuhp/N to TEARDOWN_CPU, then the control task (takedown_cpu() and the BP
// states). Also the rollback of a failed up walk.
int cpuhp_down(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  int ret = 0;
  if (st->state.load() > CPUHP_TEARDOWN_CPU)
    ret = cpuhp_kick_ap(cpu, std::max<int>(target, CPUHP_TEARDOWN_CPU));
  if (!ret && st->state.load() > target) ret = cpuhp_walk(cpu, target);
  return ret;
}

// CPUHP_BRINGUP_CPU's startup, on the control task. Stepping into this state was the request:
// wake the CPU's thread that waits offline, wait until it idles online, then unpark its hotplug
// thread for the AP online states.
int bringup_cpu(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  cond_wake(&st->state);
  wait_for_completion(&st->done_up);
  if (!cpu_online(static_cast<int>(cpu))) return -EIO;
  if (st->thread) kthread_unpark(st->thread);
  return 0;
}

// take_cpu_down: on the dying CPU, inside stop_machine, with every other CPU stopped.
int take_cpu_down(void* arg) {
  auto cpu = *static_cast<unsigned*>(arg);
  // __cpu_disable(): from now on the CPU is offline.
  cpu_online_mask.clear(cpu);
  // The DYING callbacks (the STARTING section in reverse), here with interrupts off.
  cpuhp_walk(cpu, CPUHP_AP_OFFLINE);
  hrtimers_cpu_dying(static_cast<int>(cpu), static_cast<int>(cpu_online_mask.load().first()));
  // Park the stopper (we are running in it): works queued before this still drain first.
  stop_machine_park(static_cast<int>(cpu));
  return 0;
}

// CPUHP_TEARDOWN_CPU's teardown, on the control task.
int takedown_cpu(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  // The AP online states are done: park the hotplug thread before the CPU goes.
  if (st->thread) kthread_park(st->thread);
  reinit_completion(&st->done_down);
  unsigned arg = cpu;
  cpumask only = cpumask::of(cpu);
  if (int err = stop_machine_cpuslocked(take_cpu_down, &arg, &only)) {
    // The CPU refused to die: unpark the hotplug thread so that we can roll back there.
    if (st->thread) kthread_unpark(st->thread);
    return err;
  }
  // Wait for the CPU's idle loop to notice and report itself dead.
  wait_for_completion(&st->done_down);
  printk_fmt("smpboot: CPU %u is now offline", cpu);
  return 0;
}

void init_states() {
  for (auto& s : cpuhp_hp_states) s = {};
  cpuhp_hp_states[CPUHP_OFFLINE] = {"offline", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_CREATE_THREADS] = {
      "threads:prepare", [](unsigned cpu) { return smpboot_create_threads(cpu); }, nullptr};
  cpuhp_hp_states[CPUHP_BRINGUP_CPU] = {"cpu:bringup", bringup_cpu, nullptr};
  cpuhp_hp_states[CPUHP_AP_OFFLINE] = {"ap:offline", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_AP_SCHED_STARTING] = {"sched:starting", sched_cpu_starting,
                                              sched_cpu_dying};
  cpuhp_hp_states[CPUHP_AP_ONLINE] = {"ap:online", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_TEARDOWN_CPU] = {"cpu:teardown", nullptr, takedown_cpu};
  cpuhp_hp_states[CPUHP_AP_ONLINE_IDLE] = {"ap:online-idle", nullptr, nullptr};
  cpuhp_hp_states[CPUHP_AP_SCHED_WAIT_EMPTY] = {"sched:waitempty", nullptr, sched_cpu_wait_empty};
  cpuhp_hp_states[CPUHP_AP_SMPBOOT_THREADS] = {
      "smpboot/threads:online", [](unsigned cpu) { return smpboot_unpark_threads(cpu); },
      [](unsigned cpu) { return smpboot_park_threads(cpu); }};
  cpuhp_hp_states[CPUHP_AP_ACTIVE] = {"sched:active", sched_cpu_activate, sched_cpu_deactivate};
  cpuhp_hp_states[CPUHP_ONLINE] = {"online", nullptr, nullptr};
  for (int state = CPUHP_OFFLINE; state <= CPUHP_ONLINE; state++)
    cpuhp_hp_states[state].where = cpuhp_state_ctx(state);
}

// The booting CPU's STARTING section, interrupts off.
void notify_cpu_starting(unsigned cpu) {
  unsigned long flags = local_irq_save();
  cpuhp_walk(cpu, CPUHP_AP_ONLINE);
  local_irq_restore(flags);
}

int _cpu_up(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (cpu_online(static_cast<int>(cpu)) || st->state.load() != CPUHP_OFFLINE) return -EINVAL;
  int prev = st->state.load();
  reinit_completion(&st->done_up);
  st->bringup.store(true);
  int ret = cpuhp_up(cpu, target);
  if (ret) {
    int failed = st->state.load() + 1;
    printk_fmt("cpu%u: bring-up failed at state %d (%s): %d; rolling back", cpu, failed,
               cpuhp_hp_states[failed].name.c_str(), ret);
    st->bringup.store(false);
    WARN_ON(cpuhp_down(cpu, prev));
  }
  return ret;
}

int _cpu_down(unsigned cpu, int target) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (!cpu_online(static_cast<int>(cpu)) || st->state.load() != CPUHP_ONLINE) return -EINVAL;
  if (num_online_cpus() == 1) return -EBUSY;
  int prev = st->state.load();
  st->bringup.store(false);
  int ret = cpuhp_down(cpu, target);
  if (ret) {
    int failed = st->state.load();
    printk_fmt("cpu%u: teardown failed at state %d (%s): %d; rolling back", cpu, failed,
               cpuhp_hp_states[failed].name.c_str(), ret);
    st->bringup.store(true);
    WARN_ON(cpuhp_up(cpu, prev));
  }
  return ret;
}

struct down_work {
  work_struct work;
  unsigned cpu;
  int ret;
};

task_struct** idle_threads;

}  // namespace

stat_u64 hotplug_offline_count, hotplug_online_count;

// ---- The hotplug lock ---------------------------------------------------------------------------

percpu_rw_semaphore cpu_hotplug_lock;

void cpus_read_lock() {
  if (per_cpu_cpuhp_state) percpu_down_read(&cpu_hotplug_lock);
}
void cpus_read_unlock() {
  if (per_cpu_cpuhp_state) percpu_up_read(&cpu_hotplug_lock);
}
void cpus_write_lock() {
  percpu_down_write(&cpu_hotplug_lock);
}
void cpus_write_unlock() {
  percpu_up_write(&cpu_hotplug_lock);
}
void lockdep_assert_cpus_held() {
  percpu_rwsem_assert_held(&cpu_hotplug_lock);
}

// ---- Bring-up ----------------------------------------------------------------------------------

void cpuhp_init() {
  init_states();
  per_cpu_cpuhp_state = new cpuhp_cpu_state[nr_cpu_ids_];
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    init_completion(&per_cpu_cpuhp_state[c].done_up);
    init_completion(&per_cpu_cpuhp_state[c].done_down);
    init_completion(&per_cpu_cpuhp_state[c].done_ap);
  }
  idle_threads = new task_struct*[nr_cpu_ids_]();
  percpu_init_rwsem(&cpu_hotplug_lock);
  mutex_init(&cpu_add_remove_lock);
}

void cpuhp_exit() {
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    if (idle_threads[c]) {
      arch::context_destroy(&idle_threads[c]->ctx);
      delete idle_threads[c];
    }
  }
  delete[] idle_threads;
  idle_threads = nullptr;
  delete[] per_cpu_cpuhp_state;
  per_cpu_cpuhp_state = nullptr;
}

task_struct* idle_task(unsigned cpu) {
  return idle_threads ? idle_threads[cpu] : nullptr;
}

void set_idle_task(unsigned cpu, task_struct* idle) {
  idle_threads[cpu] = idle;
}

void boot_cpu_init(unsigned cpu) {
  cpu_online_mask.set(cpu);
  cpu_active_mask.set(cpu);
  cpu_possible_mask.store(cpumask::first_n(nr_cpu_ids_));
  per_cpu_cpuhp_state[cpu].state.store(CPUHP_ONLINE);
}

static void idle_threads_init() {
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++) {
    if (idle_threads[cpu]) continue;
    auto* idle = new task_struct;
    init_idle(idle, static_cast<int>(cpu));
    idle_threads[cpu] = idle;
  }
}

void smp_init() {
  idle_threads_init();
  printk_fmt("smp: Bringing up secondary CPUs ...");
  for (unsigned cpu = 0; cpu < nr_cpu_ids_; cpu++)
    if (!cpu_online(static_cast<int>(cpu))) cpu_up(cpu);
  printk_fmt("smp: Brought up 1 node, %u CPUs", num_online_cpus());
}

int cpu_up(unsigned int cpu) {
  if (cpu >= nr_cpu_ids_ || !per_cpu_cpuhp_state) return -EINVAL;
  mutex_lock(&cpu_add_remove_lock);
  cpus_write_lock();
  int ret = _cpu_up(cpu, CPUHP_ONLINE);
  if (!ret && system_state.load() == SYSTEM_RUNNING) stat_add(hotplug_online_count, 1);
  cpus_write_unlock();
  mutex_unlock(&cpu_add_remove_lock);
  return ret;
}

static int cpu_down_maps_locked(unsigned cpu) {
  mutex_lock(&cpu_add_remove_lock);
  cpus_write_lock();
  int ret = _cpu_down(cpu, CPUHP_OFFLINE);
  if (!ret) stat_add(hotplug_offline_count, 1);
  cpus_write_unlock();
  mutex_unlock(&cpu_add_remove_lock);
  return ret;
}

int cpu_down(unsigned int cpu) {
  if (cpu >= nr_cpu_ids_ || !per_cpu_cpuhp_state) return -EINVAL;
  if (!cpu_online(static_cast<int>(cpu))) return -EINVAL;
  if (num_online_cpus() == 1) return -EBUSY;
  task_struct* self = schedulable_current();
  if (!self) return cpu_down_maps_locked(cpu);
  // A task must not take its own CPU down: run the teardown on another CPU's kworker, as the
  // kernel does with work_on_cpu().
  cpumask others = cpu_online_mask.load();
  others.clear(cpu);
  down_work w;
  INIT_WORK(&w.work, [](work_struct* work) {
    auto* dw = container_of(work, down_work, work);
    dw->ret = cpu_down_maps_locked(dw->cpu);
  });
  w.cpu = cpu;
  w.ret = -EBUSY;
  if (others.empty() || !queue_work_on(static_cast<int>(others.first()), &w.work)) return -EBUSY;
  flush_work(&w.work);
  return w.ret;
}

// ---- Dynamic states
// ------------------------------------------------------------------------------

static int cpuhp_dyn_end(int start) {
  switch (start) {
    case CPUHP_BP_PREPARE_DYN:
      return CPUHP_BP_PREPARE_DYN_END;
    case CPUHP_AP_STARTING_DYN:
      return CPUHP_AP_STARTING_DYN_END;
    case CPUHP_AP_ONLINE_DYN:
      return CPUHP_AP_ONLINE_DYN_END;
  }
  return -1;
}

// Runs one state's callback for cpu where the table says (the kernel's cpuhp_issue_call): the
// AP online and STARTING states on cpuhp/N (STARTING ones with interrupts off), the others here.
static int cpuhp_issue_call(unsigned cpu, int state, bool bringup) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (cpuhp_hp_states[state].where == cpuhp_ctx::control || !st->thread)
    return cpuhp_invoke_callback(cpu, state, bringup);
  st->single = true;
  st->cb_state = state;
  st->single_bringup = bringup;
  return __cpuhp_kick_ap(cpu);
}

int cpuhp_setup_state(cpuhp_state state, const std::string& name, cpuhp_callback startup,
                      cpuhp_callback teardown) {
  if (!per_cpu_cpuhp_state || state <= CPUHP_OFFLINE || state >= CPUHP_ONLINE || name.empty())
    return -EINVAL;
  mutex_lock(&cpu_add_remove_lock);
  int slot = state;
  int end = cpuhp_dyn_end(state);
  int ret = 0;
  if (end >= 0) {
    while (slot < end && !cpuhp_hp_states[slot].name.empty()) slot++;
    if (slot >= end) ret = -ENOSPC;
  } else if (!cpuhp_hp_states[slot].name.empty()) {
    ret = -EBUSY;
  }
  if (!ret) {
    cpuhp_hp_states[slot] = {name, startup, teardown, cpuhp_state_ctx(slot)};
    // Bring the new state up on every CPU already past it, in CPU order.
    std::vector<unsigned> done;
    for (unsigned cpu : cpu_online_mask.load()) {
      if (per_cpu_cpuhp_state[cpu].state.load() < slot) continue;
      ret = startup ? cpuhp_issue_call(cpu, slot, true) : 0;
      if (ret) break;
      done.push_back(cpu);
    }
    if (ret) {
      for (auto it = done.rbegin(); it != done.rend(); ++it)
        if (teardown) cpuhp_issue_call(*it, slot, false);
      cpuhp_hp_states[slot] = {};
      cpuhp_hp_states[slot].where = cpuhp_state_ctx(slot);
    }
  }
  mutex_unlock(&cpu_add_remove_lock);
  if (ret) return ret;
  return end >= 0 ? slot : 0;
}

int cpuhp_remove_state(int state) {
  if (!per_cpu_cpuhp_state || state <= CPUHP_OFFLINE || state >= CPUHP_ONLINE) return -EINVAL;
  mutex_lock(&cpu_add_remove_lock);
  int ret = 0;
  bool dynamic = (state >= CPUHP_BP_PREPARE_DYN && state < CPUHP_BP_PREPARE_DYN_END) ||
                 (state >= CPUHP_AP_STARTING_DYN && state < CPUHP_AP_STARTING_DYN_END) ||
                 (state >= CPUHP_AP_ONLINE_DYN && state < CPUHP_AP_ONLINE_DYN_END);
  if (!dynamic || cpuhp_hp_states[state].name.empty()) {
    ret = -EINVAL;
  } else {
    cpumask online = cpu_online_mask.load();
    for (int cpu = static_cast<int>(nr_cpu_ids_) - 1; cpu >= 0; cpu--)
      if (online.test(static_cast<unsigned>(cpu)) &&
          per_cpu_cpuhp_state[cpu].state.load() >= state && cpuhp_hp_states[state].teardown)
        cpuhp_issue_call(static_cast<unsigned>(cpu), state, false);
    cpuhp_hp_states[state] = {};
    cpuhp_hp_states[state].where = cpuhp_state_ctx(state);
  }
  mutex_unlock(&cpu_add_remove_lock);
  return ret;
}

void start_secondary(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  notify_cpu_starting(cpu);
  cpu_online_mask.set(cpu);
  // cpuhp_online_idle(): the stopper must take work before this CPU schedules anything
  // (45178ac0cea8), so it is enabled here, on the AP, ahead of the idle loop, and before the BP
  // is told to go on (which moves the state past ONLINE_IDLE).
  cpuhp_walk(cpu, CPUHP_AP_ONLINE_IDLE);
  if (stop_machine_ready() && cpu_stopper_task(static_cast<int>(cpu)))
    stop_machine_unpark(static_cast<int>(cpu));
  complete(&st->done_up);
  cpu_startup_entry();
}

void cpu_thread_main(unsigned cpu) {
  cpuhp_cpu_state* st = &per_cpu_cpuhp_state[cpu];
  if (cpu == 0) {
    task_struct* idle = idle_threads[0];
    arch::set_this_cpu_slot(&idle->thread_info);
    arch::context_init_thread(&idle->ctx);
    start_kernel();  // returns when CPU 0 goes offline or the machine halts
    arch::set_this_cpu_slot(nullptr);
    if (machine_halting.load(std::memory_order_acquire)) return;
    complete(&st->done_down);
  }
  // An offline CPU waits here (the arch's play_dead) for an up walk to step it into
  // CPUHP_BRINGUP_CPU: no spinning, a block on its state word for as long as it takes. The
  // same state passed on a down walk is not a request.
  for (;;) {
    int s = st->state.load(std::memory_order_acquire);
    if (s == CPUHP_INVALID) return;  // the machine halts
    if (s != CPUHP_BRINGUP_CPU || !st->bringup.load()) {
      cond_block(&st->state, s, COND_FOREVER);
      continue;
    }
    task_struct* idle = idle_threads[cpu];
    arch::set_this_cpu_slot(&idle->thread_info);
    arch::context_init_thread(&idle->ctx);
    start_secondary(cpu);
    arch::set_this_cpu_slot(nullptr);
    if (machine_halting.load(std::memory_order_acquire)) return;
    complete(&st->done_down);
  }
}

// Machine halt: the offline CPUs' threads leave their wait (no walk is under way).
void cpuhp_release_waiting_cpus() {
  for (unsigned c = 0; c < nr_cpu_ids_; c++) {
    cpuhp_cpu_state* st = &per_cpu_cpuhp_state[c];
    int off = CPUHP_OFFLINE;
    if (st->state.compare_exchange_strong(off, CPUHP_INVALID)) cond_wake(&st->state);
  }
}

int cpuhp_threads_init() {
  if (int err = smpboot_register_percpu_thread(&cpuhp_threads)) return err;
  for (unsigned cpu : cpu_online_mask.load()) kthread_unpark(per_cpu_cpuhp_state[cpu].thread);
  return 0;
}

void cpuhp_threads_exit() {
  smpboot_unregister_percpu_thread(&cpuhp_threads);
}

bool cpu_dying(int cpu) {
  return per_cpu_cpuhp_state && !per_cpu_cpuhp_state[cpu].bringup.load();
}

// ---- Queries ---------------------------------------------------------------------------------

bool cpu_online(int cpu) {
  return cpu_online_mask.test(cpu);
}
bool cpu_active(int cpu) {
  return cpu_active_mask.test(cpu);
}
unsigned num_online_cpus() {
  return cpu_online_mask.weight();
}
cpumask cpu_online_mask_snapshot() {
  return cpu_online_mask.load();
}
cpumask cpu_active_mask_snapshot() {
  return cpu_active_mask.load();
}

int cpuhp_get_state(unsigned cpu) {
  return per_cpu_cpuhp_state && cpu < nr_cpu_ids_ ? per_cpu_cpuhp_state[cpu].state.load()
                                                  : CPUHP_INVALID;
}

std::string cpuhp_state_name(int state) {
  if (state < 0 || state > CPUHP_ONLINE) return {};
  return cpuhp_hp_states[state].name;
}

}  // namespace cpustop

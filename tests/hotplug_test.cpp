// CPU hotplug of logical CPUs: cpu-on-off-test.sh, return codes, the stopper across hotplug,
// task migration on down, rollback, dynamic states, stop_machine_from_inactive_cpu.
#include <mutex>
#include <thread>

#include "kernel/cpu.h"
#include "test_util.h"

namespace cpustop {
namespace {

using test::on_cpu;
using test::run_task;

class hotplug : public test::machine {};
INSTANTIATE_TEST_SUITE_P(cpus, hotplug, ::testing::Values(2u, 4u, 8u), test::cpus_name);

char state_of(const std::string& comm) {
  for (const task_info& t : task_list())
    if (t.comm == comm) return t.state;
  return '?';
}

// Each CPU's per-CPU threads are parked exactly while it is offline.
void expect_percpu_threads(unsigned cpu, bool online) {
  std::string c = std::to_string(cpu);
  for (const std::string& comm :
       {"cpuhp/" + c, "migration/" + c, "ksoftirqd/" + c, "kworker/" + c + ":0"}) {
    char st = state_of(comm);
    if (online)
      EXPECT_NE(st, 'P') << comm << " parked on an online CPU";
    else
      EXPECT_EQ(st, 'P') << comm << " not parked on an offline CPU";
  }
}

// tools/testing/selftests/cpu-hotplug/cpu-on-off-test.sh: offline and re-online the highest
// online CPU; with -a: online all, offline all but one (the last must fail), online all.
TEST_P(hotplug, cpu_on_off_test) {
  unsigned last = ncpus() - 1;
  ASSERT_EQ(cpu_down(last), 0);
  EXPECT_FALSE(cpu_online(static_cast<int>(last)));
  expect_percpu_threads(last, false);
  ASSERT_EQ(cpu_up(last), 0);
  EXPECT_TRUE(cpu_online(static_cast<int>(last)));
  expect_percpu_threads(last, true);
  // -a
  for (unsigned cpu = 1; cpu < ncpus(); cpu++) {
    ASSERT_EQ(cpu_down(cpu), 0) << "cpu" << cpu;
    expect_percpu_threads(cpu, false);
  }
  EXPECT_EQ(num_online_cpus(), 1u);
  EXPECT_EQ(cpu_down(0), -EBUSY) << "the last online CPU cannot go down";
  for (unsigned cpu = 1; cpu < ncpus(); cpu++) {
    ASSERT_EQ(cpu_up(cpu), 0) << "cpu" << cpu;
    expect_percpu_threads(cpu, true);
  }
  EXPECT_EQ(num_online_cpus(), ncpus());
  EXPECT_NE(dmesg().find("smpboot: CPU 1 is now offline"), std::string::npos);
}

// The CFS latency target follows the active CPUs, 6 ms x (1 + ilog2(min(n, 8))), as the kernel's
// update_sysctl() on every rq_online/rq_offline. An 8-CPU machine down to one CPU that kept 24 ms
// gave each waking sleeper 12 ms of credit (GENTLE_FAIR_SLEEPERS): in stress_hotplug under TSan
// 700 short sleepers kept cpuhp/0 off its CPU for minutes.
TEST_P(hotplug, cfs_latency_scales_with_the_active_cpus) {
  const char* const latency_ms[] = {"", "6", "12", "12", "18", "18", "18", "18", "24"};
  auto sysctl = [](const char* name) {
    std::string s;
    EXPECT_EQ(proc_read(std::string("/proc/sys/kernel/") + name, &s), 0) << name;
    return s;
  };
  auto latency = [&] { return sysctl("sched_latency_ns"); };
  EXPECT_EQ(latency(), latency_ms[ncpus()] + std::string("000000\n"));
  for (unsigned cpu = ncpus() - 1; cpu > 0; cpu--) {
    ASSERT_EQ(cpu_down(cpu), 0) << "cpu" << cpu;
    EXPECT_EQ(latency(), latency_ms[cpu] + std::string("000000\n")) << cpu << " CPUs left";
  }
  EXPECT_EQ(sysctl("sched_min_granularity_ns"), "750000\n");
  EXPECT_EQ(sysctl("sched_wakeup_granularity_ns"), "1000000\n");
  for (unsigned cpu = 1; cpu < ncpus(); cpu++) {
    ASSERT_EQ(cpu_up(cpu), 0) << "cpu" << cpu;
    EXPECT_EQ(latency(), latency_ms[cpu + 1] + std::string("000000\n")) << cpu + 1 << " CPUs up";
  }
}

TEST_P(hotplug, return_codes_as_sysfs) {
  unsigned cpu = ncpus() - 1;
  EXPECT_EQ(cpu_up(cpu), -EINVAL) << "already online";
  EXPECT_EQ(cpu_up(ncpus()), -EINVAL);
  EXPECT_EQ(cpu_down(ncpus()), -EINVAL);
  ASSERT_EQ(cpu_down(cpu), 0);
  EXPECT_EQ(cpu_down(cpu), -EINVAL) << "already offline";
  EXPECT_EQ(cpuhp_get_state(cpu), CPUHP_OFFLINE);
  ASSERT_EQ(cpu_up(cpu), 0);
  EXPECT_EQ(cpuhp_get_state(cpu), CPUHP_ONLINE);
  // From a task running on the CPU that goes down.
  EXPECT_EQ(run_task([cpu] { return cpu_down(cpu); }, on_cpu(cpu)), 0);
  EXPECT_FALSE(cpu_online(static_cast<int>(cpu)));
  EXPECT_EQ(cpu_up(cpu), 0);
}

TEST_P(hotplug, work_for_an_offline_cpu_is_refused_and_never_runs) {
  unsigned off = ncpus() - 1;
  ASSERT_EQ(cpu_down(off), 0);
  std::atomic<int> runs{0};
  auto count = [&] { runs++; };
  EXPECT_EQ(stop_one_cpu(off, count), -ENOENT);
  cpu_stop_work w;
  EXPECT_FALSE(stop_one_cpu_nowait(off, count, &w));
  EXPECT_EQ(stop_two_cpus(0, off, count), -ENOENT);
  cpumask only_off = cpumask::of(off);
  EXPECT_EQ(stop_cpus(&only_off, count), -ENOENT);
  // A mask with an offline CPU: fn runs on the online ones only.
  cpumask mixed = cpumask::of(0);
  mixed.set(off);
  EXPECT_EQ(stop_machine(count, &mixed), 0);
  EXPECT_EQ(runs.load(), 1);
  work_struct ws;
  INIT_WORK(&ws, [](work_struct*) {});
  EXPECT_FALSE(queue_work_on(static_cast<int>(off), &ws));
  ASSERT_EQ(cpu_up(off), 0);
}

// Regression 45178ac0cea8: a CPU was online with its stopper disabled, so stop_one_cpu completed
// without running. The stopper is enabled before the CPU schedules anything.
TEST_P(hotplug, stop_one_cpu_right_after_online_runs_fn) {
  unsigned cpu = ncpus() - 1;
  for (int i = 0; i < 30; i++) {
    ASSERT_EQ(cpu_down(cpu), 0);
    ASSERT_EQ(cpu_up(cpu), 0);
    int ran_on = -1;
    ASSERT_EQ(stop_one_cpu(cpu, [&] { ran_on = smp_processor_id(); }), 0) << "round " << i;
    EXPECT_EQ(ran_on, static_cast<int>(cpu));
  }
}

// "stop_machine: Mark per cpu stopper enabled early": stop_machine concurrent with onlining.
TEST_P(hotplug, stop_machine_concurrent_with_online_and_offline_finishes) {
  std::atomic<bool> stop{false};
  std::atomic<long> machines{0};
  pid_t stormer = spawn("stormer", [&] {
    while (!stop) {
      if (stop_machine([] { return 0; }) == 0) machines++;
    }
  });
  unsigned cpu = ncpus() - 1;
  for (int i = 0; i < 20; i++) {
    ASSERT_EQ(cpu_down(cpu), 0);
    ASSERT_EQ(cpu_up(cpu), 0);
  }
  stop = true;
  ASSERT_EQ(join(stormer, nullptr), 0);
  EXPECT_GT(machines.load(), 0);
}

TEST_P(hotplug, tasks_move_off_a_dying_cpu_keeping_or_breaking_their_affinity) {
  unsigned cpu = ncpus() - 1;
  std::atomic<bool> stop{false};
  auto busy = [&] {
    while (!stop) cond_resched();
  };
  cpumask two = cpumask::of(cpu);
  two.set(cpu - 1);
  task_attr a = on_cpu(cpu);
  pid_t only_here = spawn("onlyhere", busy, a);
  a.cpus = two;
  pid_t two_cpus = spawn("twocpus", busy, a);
  // Make sure twocpus really sits on the dying CPU first.
  ASSERT_EQ(sched_setaffinity(two_cpus, cpumask::of(cpu)), 0);
  ASSERT_EQ(sched_setaffinity(two_cpus, two), 0);
  ASSERT_TRUE(test::wait_task_ran(only_here));
  ASSERT_EQ(cpu_down(cpu), 0);
  task_info t1, t2;
  ASSERT_EQ(task_get_info(only_here, &t1), 0);
  ASSERT_EQ(task_get_info(two_cpus, &t2), 0);
  EXPECT_NE(t1.cpu, static_cast<int>(cpu));
  EXPECT_EQ(t2.cpu, static_cast<int>(cpu - 1)) << "the other allowed CPU";
  EXPECT_EQ(t2.cpus_allowed, two) << "affinity kept";
  EXPECT_EQ(t1.cpus_allowed, cpumask::first_n(ncpus())) << "affinity broken";
  EXPECT_NE(dmesg().find("process " + std::to_string(only_here) +
                         " (onlyhere) no longer affine to cpu" + std::to_string(cpu)),
            std::string::npos);
  EXPECT_EQ(dmesg().find("(twocpus) no longer affine"), std::string::npos);
  EXPECT_GE(get_sched_stats().hotplug, 1u);  // onlyhere; twocpus may be pulled first
  stop = true;
  ASSERT_EQ(join(only_here, nullptr), 0);
  ASSERT_EQ(join(two_cpus, nullptr), 0);
  ASSERT_EQ(cpu_up(cpu), 0);
}

// sched_setaffinity() of a running task picks its destination among the active CPUs, but
// migration/N runs later: when hotplug has deactivated that destination meanwhile, the task must
// still end up inside its mask (here: broken affinity, the mask's only CPU is going away), never
// left running where it may not (affinity_violations).
TEST_P(hotplug, an_affinity_move_whose_destination_goes_down_meanwhile_keeps_the_task_allowed) {
  if (ncpus() < 3) GTEST_SKIP() << "needs a CPU for the victim, the caller and the destination";
  unsigned dest = ncpus() - 1;
  std::atomic<bool> in_section{false}, stop{false};
  pid_t victim = spawn(
      "victim",
      [&] {
        // migration/0 cannot run while preemption is off: the move stays queued behind it.
        preempt_disable();
        in_section = true;
        while (cpu_active(static_cast<int>(dest))) {
        }
        preempt_enable();
        while (!stop) cond_resched();
      },
      on_cpu(0));
  while (!in_section) std::this_thread::yield();
  pid_t caller = spawn(
      "caller", [&] { EXPECT_EQ(sched_setaffinity(victim, cpumask::of(dest)), 0); }, on_cpu(1));
  // The caller sleeps in affine_move_task() once migration_cpu_stop is queued on CPU 0.
  while (true) {
    task_info ti;
    ASSERT_EQ(task_get_info(caller, &ti), 0);
    if (ti.state == 'D') break;
    std::this_thread::yield();
  }
  ASSERT_EQ(cpu_down(dest), 0);
  ASSERT_EQ(join(caller, nullptr), 0);
  task_info ti;
  ASSERT_EQ(task_get_info(victim, &ti), 0);
  EXPECT_TRUE(ti.cpus_allowed.test(static_cast<unsigned>(ti.cpu)))
      << "victim on cpu" << ti.cpu << " outside its mask";
  EXPECT_EQ(ti.cpus_allowed, cpumask::first_n(ncpus()))
      << "affinity broken: cpu" << dest << " was its only CPU";
  EXPECT_EQ(get_sched_stats().affinity_violations, 0u);
  stop = true;
  ASSERT_EQ(join(victim, nullptr), 0);
  ASSERT_EQ(cpu_up(dest), 0);
}

TEST_P(hotplug, a_failing_startup_rolls_the_cpu_back_offline) {
  unsigned cpu = ncpus() - 1;
  ASSERT_EQ(cpu_down(cpu), 0);
  int state = cpuhp_setup_state(
      CPUHP_AP_ONLINE_DYN, "test:fails", [cpu](unsigned c) { return c == cpu ? -EIO : 0; },
      [](unsigned) { return 0; });
  ASSERT_GE(state, CPUHP_AP_ONLINE_DYN);
  EXPECT_EQ(cpu_up(cpu), -EIO);
  EXPECT_FALSE(cpu_online(static_cast<int>(cpu)));
  EXPECT_EQ(cpuhp_get_state(cpu), CPUHP_OFFLINE);
  expect_percpu_threads(cpu, false);
  EXPECT_NE(dmesg().find("rolling back"), std::string::npos);
  ASSERT_EQ(cpuhp_remove_state(state), 0);
  ASSERT_EQ(cpu_up(cpu), 0);
  expect_percpu_threads(cpu, true);
}

TEST_P(hotplug, a_failing_teardown_rolls_the_cpu_back_online) {
  unsigned cpu = ncpus() - 1;
  std::atomic<int> fail{1};
  int state = cpuhp_setup_state(
      CPUHP_AP_ONLINE_DYN, "test:teardown-fails", [](unsigned) { return 0; },
      [&](unsigned c) { return c == cpu && fail.load() ? -EBUSY : 0; });
  ASSERT_GE(state, 0);
  EXPECT_EQ(cpu_down(cpu), -EBUSY);
  EXPECT_TRUE(cpu_online(static_cast<int>(cpu)));
  EXPECT_TRUE(cpu_active(static_cast<int>(cpu)));
  EXPECT_EQ(cpuhp_get_state(cpu), CPUHP_ONLINE);
  expect_percpu_threads(cpu, true);
  fail = 0;
  ASSERT_EQ(cpuhp_remove_state(state), 0);
}

TEST_P(hotplug, dynamic_states_start_in_order_and_tear_down_in_reverse) {
  std::mutex m;
  std::vector<std::string> log;
  auto rec = [&](std::string what) {
    return [&, what](unsigned c) {
      std::lock_guard<std::mutex> g(m);
      log.push_back(what + std::to_string(c));
      return 0;
    };
  };
  int a = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "test:a", rec("upA"), rec("downA"));
  int b = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "test:b", rec("upB"), rec("downB"));
  ASSERT_GE(a, 0);
  ASSERT_EQ(b, a + 1);
  EXPECT_EQ(cpuhp_state_name(a), "test:a");
  std::string c = std::to_string(ncpus() - 1);
  {
    std::lock_guard<std::mutex> g(m);
    // Installed on every online CPU, in CPU order.
    EXPECT_EQ(log.front(), "upA0");
    EXPECT_EQ(log[log.size() - 1], "upB" + c);
    log.clear();
  }
  ASSERT_EQ(cpu_down(ncpus() - 1), 0);
  ASSERT_EQ(cpu_up(ncpus() - 1), 0);
  std::vector<std::string> want = {"downB" + c, "downA" + c, "upA" + c, "upB" + c};
  EXPECT_EQ(log, want);
  EXPECT_EQ(cpuhp_remove_state(b), 0);
  EXPECT_EQ(cpuhp_remove_state(a), 0);
  EXPECT_EQ(cpuhp_remove_state(a), -EINVAL);
  EXPECT_EQ(cpuhp_setup_state(CPUHP_AP_ACTIVE, "taken", nullptr, nullptr), -EBUSY);
}

TEST_P(hotplug, cpus_read_lock_holds_hotplug_off) {
  std::atomic<bool> holding{false}, release{false}, downed{false};
  pid_t holder = spawn("holder", [&] {
    cpus_read_lock();
    holding = true;
    while (!release) msleep(1);
    cpus_read_unlock();
  });
  while (!holding) std::this_thread::yield();
  std::thread down([&] {
    EXPECT_EQ(cpu_down(ncpus() - 1), 0);
    downed = true;
  });
  // The down is waiting for the lock we hold (a writer asked: new readers would block now).
  ASSERT_TRUE(test::wait_until([] { return percpu_is_write_locked(&cpu_hotplug_lock); }));
  EXPECT_FALSE(downed.load());
  EXPECT_TRUE(cpu_online(static_cast<int>(ncpus() - 1)));
  release = true;
  down.join();
  EXPECT_TRUE(downed.load());
  ASSERT_EQ(join(holder, nullptr), 0);
  ASSERT_EQ(cpu_up(ncpus() - 1), 0);
}

std::atomic<int> inactive_result{0};
std::atomic<int> inactive_ran_on{-1};

TEST_P(hotplug, stop_machine_from_inactive_cpu_joins_from_the_starting_cpu) {
  unsigned cpu = ncpus() - 1;
  ASSERT_EQ(cpu_down(cpu), 0);
  int state = cpuhp_setup_state(
      CPUHP_AP_STARTING_DYN, "test:inactive",
      [](unsigned) {
        inactive_result = stop_machine_from_inactive_cpu(
            [](void*) {
              inactive_ran_on = smp_processor_id();
              return 17;
            },
            nullptr, nullptr);
        return 0;
      },
      nullptr);
  ASSERT_GE(state, 0);
  ASSERT_EQ(cpu_up(cpu), 0);
  EXPECT_EQ(inactive_result.load(), 17);
  EXPECT_EQ(inactive_ran_on.load(), 0) << "cpus == nullptr: the first online CPU";
  ASSERT_EQ(cpuhp_remove_state(state), 0);
}

TEST_P(hotplug, hotplug_states_are_traced) {
  trace_clear();
  trace_event_enable("cpuhp:*");
  ASSERT_EQ(cpu_down(ncpus() - 1), 0);
  ASSERT_EQ(cpu_up(ncpus() - 1), 0);
  trace_event_enable("all", false);
  bool teardown = false, active = false;
  for (const auto& r : trace_records()) {
    if (r.event == "cpuhp_enter" && r.fields.find("(cpu:teardown)") != std::string::npos)
      teardown = true;
    if (r.event == "cpuhp_enter" && r.fields.find("(sched:active)") != std::string::npos)
      active = true;
  }
  EXPECT_TRUE(teardown);
  EXPECT_TRUE(active);
}

}  // namespace
}  // namespace cpustop

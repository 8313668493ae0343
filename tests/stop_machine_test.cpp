// The cpu_stop API: return codes, where functions run, stop_machine exclusivity, guaranteed
// time-to-execute, faults, and the historical bug classes of the stopper (each test names
// the kernel commit it guards).
#include <array>
#include <chrono>
#include <thread>
#include <vector>

#include "kernel/locking/spinlock.h"
#include "kernel/task.h"
#include "test_util.h"

namespace cpustop {
namespace {

using test::on_cpu;
using test::run_task;

class stop : public test::machine {};
CPUSTOP_INSTANTIATE(stop);

int return_cpu(void*) {
  return smp_processor_id();
}

TEST_P(stop, stop_one_cpu_runs_fn_on_that_cpu_and_returns_its_value) {
  for (unsigned cpu = 0; cpu < ncpus(); cpu++) {
    EXPECT_EQ(stop_one_cpu(cpu, return_cpu, nullptr), static_cast<int>(cpu));
    // From a task on another CPU, and to its own CPU.
    EXPECT_EQ(run_task([cpu] { return stop_one_cpu(cpu, return_cpu, nullptr); },
                       on_cpu((cpu + 1) % ncpus())),
              static_cast<int>(cpu));
    EXPECT_EQ(run_task([cpu] { return stop_one_cpu(cpu, return_cpu, nullptr); }, on_cpu(cpu)),
              static_cast<int>(cpu));
  }
  EXPECT_EQ(stop_one_cpu(ncpus(), return_cpu, nullptr), -EINVAL);
  EXPECT_EQ(stop_one_cpu(NR_CPUS + 5, return_cpu, nullptr), -EINVAL);
  // The callable form.
  int seen = -1;
  EXPECT_EQ(stop_one_cpu(ncpus() - 1, [&] { seen = smp_processor_id(); }), 0);
  EXPECT_EQ(seen, static_cast<int>(ncpus() - 1));
}

TEST_P(stop, the_stop_function_runs_in_the_stopper_atomically) {
  task_info who;
  int count = -1;
  bool atomic = false;
  std::string info;
  EXPECT_EQ(stop_one_cpu(0,
                         [&] {
                           task_get_info(getpid(), &who);
                           count = preempt_count();
                           atomic = !preemptible();
                           info = print_stop_info("", current());
                         }),
            0);
  EXPECT_EQ(who.comm, "migration/0");
  EXPECT_TRUE(who.stop_class);
  EXPECT_EQ(who.policy, SCHED_FIFO);  // shown to the world as FIFO 99
  EXPECT_EQ(who.rt_priority, 99);
  EXPECT_EQ(who.prio, 0);
  EXPECT_GE(count, 1);
  EXPECT_TRUE(atomic);
  EXPECT_EQ(info.rfind("Stopper: ", 0), 0u) << info;
  EXPECT_NE(info.find("invoke_stop_fn"), std::string::npos) << info;
  EXPECT_NE(info.find(" <- "), std::string::npos) << info;
  EXPECT_EQ(print_stop_info("", nullptr), "");
}

TEST_P(stop, stop_one_cpu_nowait_runs_once_and_refuses_a_queued_buffer) {
  for (unsigned cpu = 0; cpu < ncpus(); cpu++) {
    std::atomic<int> runs{0};
    cpu_stop_work work;
    EXPECT_TRUE(stop_one_cpu_nowait(
        cpu,
        [](void* a) {
          static_cast<std::atomic<int>*>(a)->fetch_add(1);
          return 0;
        },
        &runs, &work));
    // Done with the buffer once fn started: reusable (the contract in cpustop/stop_machine.h).
    while (runs.load() == 0) std::this_thread::yield();
    EXPECT_TRUE(stop_one_cpu_nowait(
        cpu,
        [](void* a) {
          static_cast<std::atomic<int>*>(a)->fetch_add(1);
          return 0;
        },
        &runs, &work));
    while (runs.load() < 2) std::this_thread::yield();
    EXPECT_EQ(runs.load(), 2);
  }
  cpu_stop_work w;
  EXPECT_FALSE(stop_one_cpu_nowait(ncpus(), return_cpu, nullptr, &w));
}

// Regression (009836b4fa52, balance_push's push_work): a work buffer queued twice corrupted the
// stopper's list. Now the second queueing is refused and the function runs exactly once.
TEST_P(stop, a_nowait_buffer_is_never_queued_twice) {
  std::atomic<bool> release{false};
  std::atomic<int> runs{0};
  unsigned cpu = ncpus() - 1;
  cpu_stop_work blocker, w;
  auto hold = [&] {
    while (!release.load()) arch::cpu_relax();
  };
  ASSERT_TRUE(stop_one_cpu_nowait(cpu, hold, &blocker));
  auto count = [&] { runs++; };
  ASSERT_TRUE(stop_one_cpu_nowait(cpu, count, &w));                   // queued behind the blocker
  EXPECT_FALSE(stop_one_cpu_nowait(cpu, count, &w));                  // still queued: refused
  EXPECT_FALSE(stop_one_cpu_nowait((cpu + 1) % ncpus(), count, &w));  // on any CPU
  release = true;
  // Works run in queueing order: once a later work on that CPU has run, a second copy of w
  // would have run too.
  EXPECT_EQ(stop_one_cpu(cpu, [] {}), 0);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_NE(dmesg().find("queued while still queued"), std::string::npos);
}

TEST_P(stop, stop_two_cpus_runs_on_cpu1_while_cpu2_is_stopped) {
  if (ncpus() < 2) {
    EXPECT_EQ(stop_two_cpus(0, 0, return_cpu, nullptr), -EINVAL);
    return;
  }
  for (unsigned a = 0; a < ncpus(); a++) {
    unsigned b = (a + 1) % ncpus();
    std::atomic<int> ran_on{-1};
    std::atomic<unsigned> calls{0};
    int ret = stop_two_cpus(a, b, [&] {
      calls++;
      ran_on = smp_processor_id();
      return 40 + static_cast<int>(a);
    });
    EXPECT_EQ(ret, 40 + static_cast<int>(a));
    EXPECT_EQ(ran_on.load(), static_cast<int>(a));
    EXPECT_EQ(calls.load(), 1u);
  }
  EXPECT_EQ(stop_two_cpus(1, 1, return_cpu, nullptr), -EINVAL);
  EXPECT_EQ(stop_two_cpus(0, ncpus(), return_cpu, nullptr), -EINVAL);
}

TEST_P(stop, stop_cpus_collects_results_and_try_stop_cpus_backs_off) {
  cpumask all = cpumask::first_n(ncpus());
  std::array<std::atomic<int>, NR_CPUS> hits{};
  EXPECT_EQ(stop_cpus(&all,
                      [&] {
                        hits[static_cast<std::size_t>(smp_processor_id())]++;
                        return 0;
                      }),
            0);
  for (unsigned c = 0; c < ncpus(); c++) EXPECT_EQ(hits[c].load(), 1) << "cpu" << c;
  // Different errors on different CPUs: one of them comes back.
  int ret = stop_cpus(&all, [] { return -100 - smp_processor_id(); });
  EXPECT_LE(ret, -100);
  EXPECT_GT(ret, -100 - static_cast<int>(ncpus()));
  // Nothing to queue.
  cpumask none;
  EXPECT_EQ(stop_cpus(&none, return_cpu, nullptr), -ENOENT);
  cpumask beyond = cpumask::of(ncpus());
  EXPECT_EQ(stop_cpus(&beyond, return_cpu, nullptr), -EINVAL);

  // While one stop_cpus holds the shared buffers, try_stop_cpus returns -EAGAIN.
  std::atomic<bool> inside{false}, release{false};
  cpumask first = cpumask::of(0);
  pid_t holder = spawn(
      "holder",
      [&] {
        return stop_cpus(&first, [&] {
          inside = true;
          while (!release.load()) arch::cpu_relax();
        });
      },
      on_cpu(ncpus() - 1));
  while (!inside.load()) std::this_thread::yield();
  cpumask last = cpumask::of(ncpus() - 1);
  int tried = ncpus() > 1 ? try_stop_cpus(&last, return_cpu, nullptr) : -EAGAIN;
  release = true;
  int code = -1;
  ASSERT_EQ(join(holder, &code), 0);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(tried, -EAGAIN);
  EXPECT_EQ(try_stop_cpus(&last, return_cpu, nullptr), 0 + static_cast<int>(ncpus() - 1));
}

TEST_P(stop, stop_machine_runs_once_or_on_each_cpu_of_the_mask) {
  std::array<std::atomic<int>, NR_CPUS> hits{};
  auto count = [&] {
    hits[static_cast<std::size_t>(smp_processor_id())]++;
    return 0;
  };
  EXPECT_EQ(stop_machine(count), 0);
  EXPECT_EQ(hits[0].load(), 1) << "cpus == nullptr: once, on the first online CPU";
  for (unsigned c = 1; c < ncpus(); c++) EXPECT_EQ(hits[c].load(), 0);

  cpumask odd;
  for (unsigned c = 1; c < ncpus(); c += 2) odd.set(c);
  for (auto& h : hits) h = 0;
  EXPECT_EQ(stop_machine(count, &odd), 0);
  for (unsigned c = 0; c < ncpus(); c++) EXPECT_EQ(hits[c].load(), odd.test(c) ? 1 : 0) << c;

  cpumask all = cpumask::first_n(ncpus());
  EXPECT_EQ(stop_machine([] { return smp_processor_id() == 0 ? 0 : -7; }, &all),
            ncpus() > 1 ? -7 : 0);
  EXPECT_EQ(stop_machine_from_inactive_cpu(return_cpu, nullptr, nullptr), -EINVAL);
  EXPECT_EQ(run_task([] { return stop_machine_from_inactive_cpu(return_cpu, nullptr, nullptr); }),
            -EINVAL);
}

TEST_P(stop, while_stop_machine_runs_nothing_else_runs_anywhere) {
  // A busy task of every class on every CPU counts its progress. The rt one sleeps now and then:
  // else the fair ones would run only when RT throttling stops it, after 950 ms of its CPU time
  // in a second, which a host that steals enough from the CPU never gives.
  std::atomic<bool> done{false};
  std::vector<std::atomic<unsigned long>> progress(3 * ncpus());
  std::vector<pid_t> pids;
  for (unsigned c = 0; c < ncpus(); c++) {
    int i = 0;
    for (auto attr : {on_cpu(c), on_cpu(c, SCHED_RR, 10), on_cpu(c, SCHED_BATCH)}) {
      std::atomic<unsigned long>* p = &progress[3 * c + static_cast<unsigned>(i++)];
      bool rt = attr.policy == SCHED_RR;
      pids.push_back(spawn(
          "busy",
          [&done, p, rt] {
            while (!done.load()) {
              unsigned long n = p->fetch_add(1, std::memory_order_relaxed) + 1;
              if (rt && (n & 1023) == 0)
                msleep(1);
              else if ((n & 63) == 0)
                cond_resched();
            }
          },
          attr));
    }
  }
  // Every one of them runs before the machine is stopped.
  ASSERT_TRUE(test::wait_until([&] {
    return std::all_of(progress.begin(), progress.end(), [](auto& p) { return p.load() > 0; });
  }));
  bool moved = false, irqs_off_everywhere = true;
  std::atomic<int> participants{0};
  cpumask all = cpumask::first_n(ncpus());
  for (int round = 0; round < 5; round++) {
    EXPECT_EQ(stop_machine(
                  [&] {
                    participants++;
                    if (!irqs_disabled()) irqs_off_everywhere = false;
                    if (smp_processor_id() != 0) return 0;
                    // Only CPU 0 samples: everything is stopped, so nothing may move.
                    std::vector<unsigned long> before;
                    for (auto& p : progress) before.push_back(p.load());
                    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
                    while (std::chrono::steady_clock::now() < end) arch::cpu_relax();
                    for (std::size_t i = 0; i < progress.size(); i++)
                      if (progress[i].load() != before[i]) moved = true;
                    return 0;
                  },
                  &all),
              0);
  }
  done = true;
  for (pid_t pid : pids) ASSERT_EQ(join(pid, nullptr), 0);
  EXPECT_FALSE(moved) << "a task ran while the machine was stopped";
  EXPECT_TRUE(irqs_off_everywhere);
  EXPECT_EQ(participants.load(), 5 * static_cast<int>(ncpus()));
}

TEST_P(stop, stop_work_preempts_a_busy_cpu_at_its_next_preemption_point) {
  std::atomic<bool> done{false};
  std::atomic<unsigned long> loops{0};
  unsigned cpu = ncpus() - 1;
  pid_t hog = spawn(
      "hog",
      [&] {
        while (!done.load()) {
          loops++;
          cond_resched();
        }
      },
      on_cpu(cpu, SCHED_FIFO, 99));
  while (loops.load() == 0) std::this_thread::yield();
  trace_clear();
  ASSERT_EQ(trace_event_enable("sched:sched_switch"), 0);
  ASSERT_EQ(trace_event_enable("stop:cpu_stop_queue"), 0);
  EXPECT_EQ(stop_one_cpu(cpu, return_cpu, nullptr), static_cast<int>(cpu));
  trace_event_enable("all", false);
  done = true;
  ASSERT_EQ(join(hog, nullptr), 0);
  // The hog never sleeps: the stopper can only have preempted it. The first switch on that CPU
  // after the work was queued goes from the running hog straight to migration/N.
  const std::string queued = "cpu=" + std::to_string(cpu) + " fn=";
  bool seen_queue = false;
  std::string first_switch;
  for (const trace_record& r : trace_records()) {
    if (r.event == "cpu_stop_queue" && r.fields.rfind(queued, 0) == 0 &&
        r.fields.find("return_cpu") != std::string::npos)
      seen_queue = true;
    if (seen_queue && r.event == "sched_switch" && r.cpu == static_cast<int>(cpu)) {
      first_switch = r.fields;
      break;
    }
  }
  ASSERT_TRUE(seen_queue) << trace_text();
  EXPECT_NE(first_switch.find("prev_comm=hog "), std::string::npos) << first_switch;
  EXPECT_NE(first_switch.find("prev_state=R"), std::string::npos) << "preempted, not blocked";
  EXPECT_NE(first_switch.find("next_comm=migration/" + std::to_string(cpu) + " "),
            std::string::npos)
      << "the stopper waited for a FIFO 99 hog: " << first_switch;
}

TEST_P(stop, a_throwing_stop_function_returns_efault_and_the_stopper_goes_on) {
  unsigned cpu = ncpus() - 1;
  EXPECT_EQ(stop_one_cpu(cpu, []() -> int { throw std::runtime_error("stop fn failed"); }),
            -EFAULT);
  EXPECT_NE(dmesg().find("threw: stop fn failed"), std::string::npos);
  EXPECT_EQ(stop_one_cpu(cpu, return_cpu, nullptr), static_cast<int>(cpu));
  cpumask all = cpumask::first_n(ncpus());
  EXPECT_EQ(stop_machine([]() -> int { throw 1; }, &all), -EFAULT);
  EXPECT_EQ(stop_machine([] { return 0; }, &all), 0);
}

TEST_P(stop, sleeping_apis_from_a_stop_function_return_edeadlk) {
  int nested_one = 0, nested_two = 0, nested_machine = 0, slept = 0;
  EXPECT_EQ(stop_one_cpu(0,
                         [&] {
                           nested_one = stop_one_cpu(0, return_cpu, nullptr);
                           nested_two = stop_two_cpus(0, ncpus() > 1 ? 1 : 0, return_cpu, nullptr);
                           nested_machine = stop_machine([] { return 0; });
                           slept = msleep(1);
                         }),
            0);
  EXPECT_EQ(nested_one, -EDEADLK);
  EXPECT_EQ(nested_two, ncpus() > 1 ? -EDEADLK : -EINVAL);
  EXPECT_EQ(nested_machine, -EDEADLK);
  EXPECT_EQ(slept, -EDEADLK);
  EXPECT_NE(dmesg().find("BUG: sleeping function called from invalid context"), std::string::npos);
  // With preemption disabled in a task, too.
  EXPECT_EQ(run_task([] {
              preempt_disable();
              int r = stop_one_cpu(0, return_cpu, nullptr);
              preempt_enable();
              return r;
            }),
            -EDEADLK);
}

TEST_P(stop, a_leaked_preempt_count_is_reported_and_repaired) {
  EXPECT_EQ(stop_one_cpu(0, [] { preempt_disable(); }), 0);
  // The stopper signals the caller first and checks its count after (as the kernel does).
  test::wait_until([] { return dmesg().find("leaked preempt count") != std::string::npos; });
  EXPECT_NE(dmesg().find("leaked preempt count"), std::string::npos);
  EXPECT_EQ(stop_one_cpu(0, [] { return preempt_count(); }), 1);
  EXPECT_EQ(run_task([] { return msleep(1); }, on_cpu(0)), 0);
}

// Regression b17718d02f54: stop_two_cpus() pairs {a,b} {b,c} {c,a} queued in inconsistent order
// formed a cycle. Also 2018's "disable preemption when waking two stopper threads": callers run
// on the very CPUs they stop.
TEST_P(stop, concurrent_stop_two_cpus_cycles_never_deadlock) {
  if (ncpus() < 3) GTEST_SKIP() << "a 3-cycle needs 3 CPUs";
  std::atomic<int> done{0};
  std::vector<pid_t> pids;
  for (unsigned k = 0; k < ncpus(); k++) {
    unsigned a = k, b = (k + 1) % ncpus();
    pids.push_back(spawn(
        "pair",
        [&, a, b] {
          for (int i = 0; i < 200; i++) {
            if (stop_two_cpus(a, b, [] { return 0; }) != 0) return 1;
            if (stop_two_cpus(b, a, [] { return 0; }) != 0) return 2;
          }
          done++;
          return 0;
        },
        on_cpu(a)));
  }
  for (pid_t pid : pids) {
    int code = -1;
    ASSERT_EQ(join(pid, &code), 0);
    EXPECT_EQ(code, 0);
  }
  EXPECT_EQ(done.load(), static_cast<int>(ncpus()));
}

// Regression e6253970413d: a pair-stop racing a stop_cpus() that is queueing must not be queued
// in reverse order on two CPUs.
TEST_P(stop, stop_two_cpus_mixed_with_stop_machine_storms_finishes) {
  if (ncpus() < 2) GTEST_SKIP();
  std::atomic<long> pairs{0}, machines{0};
  std::vector<pid_t> pids;
  for (unsigned k = 0; k < ncpus(); k++)
    pids.push_back(spawn(
        "pair",
        [&, k] {
          for (int i = 0; i < 100; i++)
            if (stop_two_cpus(k, (k + 1) % ncpus(), [] { return 0; }) == 0) pairs++;
        },
        on_cpu(k)));
  pids.push_back(spawn("machine", [&] {
    cpumask all = cpumask::first_n(ncpus());
    for (int i = 0; i < 20; i++)
      if (stop_machine([] { return 0; }, &all) == 0) machines++;
  }));
  for (pid_t pid : pids) ASSERT_EQ(join(pid, nullptr), 0);
  EXPECT_EQ(pairs.load(), 100L * ncpus());
  EXPECT_EQ(machines.load(), 20);
}

#ifdef CPUSTOP_LOCKDEP
// Regression 0b26351b910f: a wakeup under the stopper lock deadlocked against a CPU spinning on
// that lock from schedule(). Debug builds refuse any wakeup while a stopper lock is held.
TEST(stop_lockdep, a_wakeup_under_a_stopper_lock_is_caught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        raw_spinlock_t l;
        raw_spin_lock_init(&l, LOCK_STOPPER, 0);
        __raw_spin_lock(&l);
        task_struct dummy;
        wake_up_process(&dummy);
      },
      "under a cpu_stopper lock");
}
#endif

class stop_full : public test::machine {
  void customize(boot_params& p) override { p.preempt = preempt_model::full; }
};
CPUSTOP_INSTANTIATE(stop_full);

TEST_P(stop_full, stop_work_preempts_a_task_that_never_calls_cpustop) {
  std::atomic<bool> done{false};
  std::atomic<unsigned long> spins{0};
  unsigned cpu = ncpus() - 1;
  pid_t hog = spawn(
      "plainhog",
      [&] {
        while (!done.load(std::memory_order_relaxed)) spins.fetch_add(1, std::memory_order_relaxed);
      },
      on_cpu(cpu, SCHED_FIFO, 99));
  while (spins.load() == 0) std::this_thread::yield();
  EXPECT_EQ(stop_one_cpu(cpu, return_cpu, nullptr), static_cast<int>(cpu));
  done = true;
  ASSERT_EQ(join(hog, nullptr), 0);
}

}  // namespace
}  // namespace cpustop

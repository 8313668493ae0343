// The smp_hotplug_thread framework and kthread parking.
#include <array>
#include <thread>

#include "test_util.h"

namespace cpustop {
namespace {

using test::run_task;

class smpboot : public test::machine {};
CPUSTOP_INSTANTIATE(smpboot);

struct percpu_counts {
  std::array<std::atomic<int>, NR_CPUS> setup{}, cleanup{}, created{}, ran{}, wrong_cpu{};
  std::array<std::atomic<int>, NR_CPUS> pending{};
  std::array<task_struct*, NR_CPUS> threads{};
};
percpu_counts* counts;

smp_hotplug_thread make_plug() {
  return {
      .store = [](unsigned cpu) { return &counts->threads[cpu]; },
      .thread_should_run = [](unsigned cpu) { return counts->pending[cpu].load() ? 1 : 0; },
      .thread_fn =
          [](unsigned cpu) {
            counts->pending[cpu] = 0;
            if (smp_processor_id() != static_cast<int>(cpu)) counts->wrong_cpu[cpu]++;
            counts->ran[cpu]++;
          },
      .create = [](unsigned cpu) { counts->created[cpu]++; },
      .setup = [](unsigned cpu) { counts->setup[cpu]++; },
      .cleanup = [](unsigned cpu, bool) { counts->cleanup[cpu]++; },
      .thread_comm = "mythread/%u",
  };
}

TEST_P(smpboot, register_creates_a_bound_thread_per_cpu_and_unregister_stops_them) {
  percpu_counts c;
  counts = &c;
  smp_hotplug_thread plug = make_plug();
  ASSERT_EQ(smpboot_register_percpu_thread(&plug), 0);
  for (unsigned cpu = 0; cpu < ncpus(); cpu++) {
    ASSERT_NE(c.threads[cpu], nullptr);
    task_info ti;
    ASSERT_EQ(task_get_info(task_pid_nr(c.threads[cpu]), &ti), 0);
    EXPECT_EQ(ti.comm, "mythread/" + std::to_string(cpu));
    EXPECT_TRUE(ti.kthread);
    EXPECT_EQ(ti.cpus_allowed, cpumask::of(cpu));
    EXPECT_EQ(c.created[cpu].load(), 1);
  }
  // Work for each CPU runs in that CPU's thread, on that CPU.
  for (int round = 0; round < 3; round++) {
    for (unsigned cpu = 0; cpu < ncpus(); cpu++) {
      c.pending[cpu] = 1;
      wake_up_process(c.threads[cpu]);
    }
    for (unsigned cpu = 0; cpu < ncpus(); cpu++)
      while (c.ran[cpu].load() <= round) std::this_thread::yield();
  }
  smpboot_unregister_percpu_thread(&plug);
  for (unsigned cpu = 0; cpu < ncpus(); cpu++) {
    EXPECT_EQ(c.setup[cpu].load(), 1);
    EXPECT_EQ(c.cleanup[cpu].load(), 1);
    EXPECT_EQ(c.ran[cpu].load(), 3);
    EXPECT_EQ(c.wrong_cpu[cpu].load(), 0);
    EXPECT_EQ(c.threads[cpu], nullptr);
  }
  for (const task_info& t : task_list()) {
    if (t.comm.rfind("mythread/", 0) != 0) continue;
    EXPECT_TRUE(test::wait_gone(t.pid)) << t.comm;
  }
  counts = nullptr;
}

TEST_P(smpboot, kthreads_park_unpark_and_stop) {
  std::atomic<int> loops{0};
  int err = 0;
  task_struct* k = kthread_create(
      [](void* arg) {
        auto* loops = static_cast<std::atomic<int>*>(arg);
        while (!kthread_should_stop()) {
          if (kthread_should_park()) kthread_parkme();
          (*loops)++;
          msleep(1);
        }
        return 77;
      },
      &loops, "parker", &err);
  ASSERT_NE(k, nullptr) << err;
  pid_t pid = task_pid_nr(k);
  task_info ti;
  ASSERT_EQ(task_get_info(pid, &ti), 0);
  EXPECT_EQ(ti.state, 'D') << "a new kthread sleeps until it is woken";
  wake_up_process(k);
  while (loops.load() < 3) std::this_thread::yield();
  EXPECT_EQ(kthread_park(k), 0);
  ASSERT_EQ(task_get_info(pid, &ti), 0);
  EXPECT_EQ(ti.state, 'P');
  EXPECT_EQ(kthread_park(k), -EBUSY);
  int parked_at = loops.load();
  // An ordinary wakeup does not end a park, and after every CPU has passed through its stopper
  // the thread still has not run.
  EXPECT_EQ(wake_up_process(k), 0);
  cpumask all = cpumask::first_n(ncpus());
  EXPECT_EQ(stop_cpus(&all, [] {}), 0);
  ASSERT_EQ(task_get_info(pid, &ti), 0);
  EXPECT_EQ(ti.state, 'P');
  EXPECT_EQ(loops.load(), parked_at);
  kthread_unpark(k);
  while (loops.load() < parked_at + 3) std::this_thread::yield();
  EXPECT_EQ(kthread_stop(k), 77);
  EXPECT_TRUE(test::wait_gone(pid));
}

TEST_P(smpboot, kthread_create_on_cpu_binds_before_it_runs) {
  unsigned cpu = ncpus() - 1;
  std::atomic<int> ran_on{-1};
  task_struct* k = kthread_create_on_cpu(
      [](void* arg) {
        static_cast<std::atomic<int>*>(arg)->store(smp_processor_id());
        while (!kthread_should_stop()) msleep(1);
        return 0;
      },
      &ran_on, cpu, "bound/%u");
  ASSERT_NE(k, nullptr);
  wake_up_process(k);
  while (ran_on.load() < 0) std::this_thread::yield();
  EXPECT_EQ(ran_on.load(), static_cast<int>(cpu));
  task_info ti;
  ASSERT_EQ(task_get_info(task_pid_nr(k), &ti), 0);
  EXPECT_EQ(ti.comm, "bound/" + std::to_string(cpu));
  EXPECT_EQ(kthread_stop(k), 0);
}

}  // namespace
}  // namespace cpustop

// Wait queues, completions, the sleeping mutex, workqueues and softirqs, from tasks and from
// threads outside cpustop.
#include <thread>
#include <vector>

#include "test_util.h"

namespace cpustop {
namespace {

using test::on_cpu;
using test::run_task;

class waits : public test::machine {};
CPUSTOP_INSTANTIATE(waits);

TEST_P(waits, completion_between_tasks_and_outside_threads) {
  completion done;
  init_completion(&done);
  pid_t waiter = spawn("waiter", [&] {
    wait_for_completion(&done);
    return 7;
  });
  ASSERT_TRUE(test::wait_task_state(waiter, "D")) << "blocked in wait_for_completion";
  complete(&done);
  int code = 0;
  ASSERT_EQ(join(waiter, &code), 0);
  EXPECT_EQ(code, 7);

  // An outside thread waits, a task completes.
  reinit_completion(&done);
  pid_t completer = spawn("completer", [&] {
    msleep(5);
    complete(&done);
  });
  wait_for_completion(&done);
  ASSERT_EQ(join(completer, nullptr), 0);

  reinit_completion(&done);
  EXPECT_FALSE(wait_for_completion_timeout(&done, 2000000));
  EXPECT_FALSE(try_wait_for_completion(&done));
  complete_all(&done);
  EXPECT_TRUE(try_wait_for_completion(&done));
  EXPECT_TRUE(completion_done(&done));
}

TEST_P(waits, wait_event_sees_the_condition_change) {
  wait_queue_head wq;
  init_waitqueue_head(&wq);
  std::atomic<int> stage{0};
  std::vector<pid_t> pids;
  for (int i = 0; i < 4; i++)
    pids.push_back(spawn("w", [&] {
      wait_event(wq, [&] { return stage.load() == 1; });
      return stage.load();
    }));
  for (pid_t pid : pids) ASSERT_TRUE(test::wait_task_state(pid, "D")) << "blocked in wait_event";
  stage = 1;
  wake_up_all(&wq);
  for (pid_t pid : pids) {
    int code = 0;
    ASSERT_EQ(join(pid, &code), 0);
    EXPECT_EQ(code, 1);
  }
  EXPECT_FALSE(wait_event_timeout(
      wq, [&] { return stage.load() == 2; }, 1000000));
}

TEST_P(waits, mutex_serialises_tasks_on_every_cpu) {
  cpustop::mutex m;
  mutex_init(&m);
  long counter = 0;  // protected by m
  std::vector<pid_t> pids;
  for (unsigned i = 0; i < 2 * ncpus() + 2; i++)
    pids.push_back(spawn("locker", [&] {
      for (int k = 0; k < 2000; k++) {
        std::lock_guard<cpustop::mutex> g(m);
        long v = counter;
        if (k % 64 == 0) msleep(0);  // sleep while holding it now and then
        counter = v + 1;
      }
    }));
  for (int k = 0; k < 200; k++) {  // and an outside thread too
    mutex_lock(&m);
    counter++;
    mutex_unlock(&m);
  }
  for (pid_t pid : pids) ASSERT_EQ(join(pid, nullptr), 0);
  EXPECT_EQ(counter, static_cast<long>((2 * ncpus() + 2) * 2000 + 200));
  EXPECT_FALSE(mutex_is_locked(&m));
  EXPECT_EQ(mutex_trylock(&m), 1);
  EXPECT_EQ(mutex_trylock(&m), 0);
  mutex_unlock(&m);
}

TEST_P(waits, workqueue_runs_on_the_chosen_cpu_and_flushes) {
  struct item {
    work_struct work;
    std::atomic<int> ran_on{-2};
    std::atomic<int> runs{0};
  };
  std::vector<item> items(ncpus());
  for (unsigned c = 0; c < ncpus(); c++) {
    INIT_WORK(&items[c].work, [](work_struct* w) {
      item* it = container_of(w, item, work);
      msleep(1);  // work may sleep
      it->ran_on = smp_processor_id();
      it->runs++;
    });
    EXPECT_TRUE(queue_work_on(static_cast<int>(c), &items[c].work));
  }
  for (unsigned c = 0; c < ncpus(); c++) {
    flush_work(&items[c].work);
    EXPECT_EQ(items[c].ran_on.load(), static_cast<int>(c));
    EXPECT_EQ(items[c].runs.load(), 1);
  }
  EXPECT_FALSE(queue_work_on(static_cast<int>(ncpus()), &items[0].work));
}

std::atomic<int> softirq_ran_on{-1};
std::atomic<int> softirq_runs{0};

TEST_P(waits, softirq_runs_on_the_raising_cpu) {
  ASSERT_EQ(open_softirq(TASKLET_SOFTIRQ,
                         [] {
                           softirq_ran_on = smp_processor_id();
                           softirq_runs++;
                         }),
            0);
  unsigned cpu = ncpus() - 1;
  EXPECT_EQ(run_task(
                [&] {
                  softirq_runs = 0;
                  if (raise_softirq(TASKLET_SOFTIRQ)) return 1;
                  for (int i = 0; i < 1000 && softirq_runs.load() == 0; i++) msleep(1);
                  return softirq_runs.load() == 1 ? 0 : 2;
                },
                on_cpu(cpu)),
            0);
  EXPECT_EQ(softirq_ran_on.load(), static_cast<int>(cpu));
  EXPECT_GE(softirq_count(cpu, TASKLET_SOFTIRQ), 1u);
  EXPECT_EQ(raise_softirq(TASKLET_SOFTIRQ), -EPERM);  // not from outside cpustop
  EXPECT_EQ(raise_softirq(NR_SOFTIRQS), -EINVAL);
  open_softirq(TASKLET_SOFTIRQ, nullptr);
}

}  // namespace
}  // namespace cpustop

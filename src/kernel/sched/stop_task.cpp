// The stop scheduling class (kernel/sched/stop_task.c): one task per CPU, migration/N, that
// preempts everything and is preempted by nothing.
#include "kernel/bug.h"
#include "kernel/sched/sched.h"

namespace cpustop {

namespace {

int select_task_rq_stop(task_struct* p, int, int) {
  return task_cpu(p);
}  // never migrates

void enqueue_task_stop(rq* rq, task_struct*, int) {
  add_nr_running(rq, 1);
}

void dequeue_task_stop(rq* rq, task_struct*, int) {
  sub_nr_running(rq, 1);
}

void update_curr_stop(rq* rq) {
  task_struct* curr = rq->curr;
  s64 delta = static_cast<s64>(rq->clock_task - curr->se.exec_start);
  if (delta <= 0) return;
  curr->se.exec_start = rq->clock_task;
  stat_add(curr->se.sum_exec_runtime, static_cast<u64>(delta));
}

void set_next_task_stop(rq* rq, task_struct* stop, bool) {
  stop->se.exec_start = rq->clock_task;
}

task_struct* pick_next_task_stop(rq* rq, task_struct*) {
  task_struct* stop = rq->stop;
  if (!stop || !task_on_rq_queued(stop)) return nullptr;
  set_next_task_stop(rq, stop, true);
  return stop;
}

void put_prev_task_stop(rq* rq, task_struct*) {
  update_curr_stop(rq);
}
void wakeup_preempt_stop(rq*, task_struct*, int) {}  // we are the highest class already
void task_tick_stop(rq*, task_struct*, int) {}
void yield_task_stop(rq*) {
  BUG();  // the stopper never yields the CPU
}
void switched_to_stop(rq*, task_struct*) {
  BUG();  // nothing is moved into the stop class
}
void prio_changed_stop(rq*, task_struct*, int) {
  BUG();  // the stopper's priority is fixed
}

}  // namespace

const sched_class stop_sched_class = {
    .name = "stop",
    .enqueue_task = enqueue_task_stop,
    .dequeue_task = dequeue_task_stop,
    .yield_task = yield_task_stop,
    .wakeup_preempt = wakeup_preempt_stop,
    .pick_next_task = pick_next_task_stop,
    .put_prev_task = put_prev_task_stop,
    .set_next_task = set_next_task_stop,
    .select_task_rq = select_task_rq_stop,
    .task_tick = task_tick_stop,
    .task_fork = nullptr,
    .switching_to = nullptr,
    .switched_from = nullptr,
    .switched_to = switched_to_stop,
    .prio_changed = prio_changed_stop,
    .update_curr = update_curr_stop,
    .migrate_task_rq = nullptr,
    .pick_task = nullptr,
};

}  // namespace cpustop

// The real-time class (kernel/sched/rt.c): SCHED_FIFO and SCHED_RR over 100 priority lists with
// a bitmap, so picking is O(1). The running task stays on its list, so a preempted FIFO task
// keeps its place at the head.
#include <algorithm>

#include "kernel/printk.h"
#include "kernel/sched/sched.h"

namespace cpustop {

unsigned sched_rr_timeslice = RR_TIMESLICE_MS;  // ticks; set from HZ at boot
// sched_rt_period_us and sched_rt_runtime_us in one word, period << 32 | runtime, so that no
// reader sees half of a store; a runtime of ~0u is -1 (no limit). The kernel's defaults: 950 ms
// of every 1 s.
static constexpr u32 RUNTIME_INF_US = ~0u;
static constexpr u64 RT_BANDWIDTH_DEFAULT = u64{1000000} << 32 | 950000;
static std::atomic<u64> sched_rt_bandwidth{RT_BANDWIDTH_DEFAULT};

namespace {

struct rt_bandwidth {
  u64 period_ns, runtime_ns;  // runtime_ns: ~0 when unlimited
};
rt_bandwidth rt_bandwidth_now() {
  u64 v = sched_rt_bandwidth.load(std::memory_order_relaxed);
  u32 runtime = static_cast<u32>(v);
  return {(v >> 32) * NSEC_PER_USEC,
          runtime == RUNTIME_INF_US ? ~u64{0} : u64{runtime} * NSEC_PER_USEC};
}

// The end of an RT bandwidth period (do_sched_rt_period_timer): each elapsed period pays back
// one runtime, and the class runs again once it owes less than a runtime. The timer keeps
// running while there is RT time to pay back or RT tasks to charge.
hrtimer_restart sched_rt_period_timer(hrtimer* timer) {
  rq* rq = cpu_rq(static_cast<int>(reinterpret_cast<std::intptr_t>(timer->data)));
  rt_bandwidth bw = rt_bandwidth_now();
  u64 overrun = hrtimer_forward_now(timer, bw.period_ns);
  rq_lock(rq);
  rt_rq* rt = &rq->rt;
  u64 payback = bw.runtime_ns == ~u64{0} ? rt->rt_time : overrun * bw.runtime_ns;
  rt->rt_time -= std::min(rt->rt_time, payback);
  if (rt->rt_throttled && rt->rt_time < bw.runtime_ns) {
    rt->rt_throttled = false;
    if (rt->rt_nr_running) resched_curr(rq);
  }
  bool idle = !rt->rt_time && !rt->rt_nr_running;
  if (idle) rt->period_active = false;
  rq_unlock(rq);
  return idle ? HRTIMER_NORESTART : HRTIMER_RESTART;
}

// Charges RT runtime to the period; past the budget the class is throttled (rq->lock held).
void sched_rt_runtime_exceeded(rq* rq, u64 delta) {
  rt_rq* rt = &rq->rt;
  rt_bandwidth bw = rt_bandwidth_now();
  if (bw.runtime_ns == ~u64{0} && !rt->rt_throttled) return;
  if (!rt->period_active) {
    rt->period_active = true;
    hrtimer_start(&rt->period_timer, arch::local_clock() + bw.period_ns);
  }
  rt->rt_time += delta;
  if (rt->rt_time > bw.runtime_ns && !rt->rt_throttled) {
    rt->rt_throttled = true;
    printk_once("sched: RT throttling activated");
    resched_curr(rq);
  }
}

int sched_find_first_bit(const u64* bitmap) {
  if (bitmap[0]) return __builtin_ctzll(bitmap[0]);
  if (bitmap[1]) return 64 + __builtin_ctzll(bitmap[1]);
  return MAX_RT_PRIO;
}

void update_curr_rt(rq* rq) {
  task_struct* curr = rq->curr;
  if (curr->sched_class != &rt_sched_class) return;
  s64 delta = static_cast<s64>(rq->clock_task - curr->se.exec_start);
  if (delta <= 0) return;
  curr->se.exec_start = rq->clock_task;
  stat_add(curr->se.sum_exec_runtime, static_cast<u64>(delta));
  sched_rt_runtime_exceeded(rq, static_cast<u64>(delta));
}

void enqueue_task_rt(rq* rq, task_struct* p, int flags) {
  rt_rq* rt = &rq->rt;
  int prio = p->prio;
  if (flags & ENQUEUE_HEAD)
    list_add(&p->rt.run_list, &rt->queue[prio]);
  else
    list_add_tail(&p->rt.run_list, &rt->queue[prio]);
  rt->bitmap[prio / 64] |= u64{1} << (prio % 64);
  rt->rt_nr_running++;
  p->rt.on_rq = 1;
  add_nr_running(rq, 1);
}

void dequeue_task_rt(rq* rq, task_struct* p, int) {
  rt_rq* rt = &rq->rt;
  update_curr_rt(rq);
  int prio = p->prio;
  list_del_init(&p->rt.run_list);
  if (list_empty(&rt->queue[prio])) rt->bitmap[prio / 64] &= ~(u64{1} << (prio % 64));
  rt->rt_nr_running--;
  p->rt.on_rq = 0;
  sub_nr_running(rq, 1);
}

void requeue_task_rt(rq* rq, task_struct* p, bool head) {
  if (!p->rt.on_rq) return;
  list_head* queue = &rq->rt.queue[p->prio];
  list_del_init(&p->rt.run_list);
  if (head)
    list_add(&p->rt.run_list, queue);
  else
    list_add_tail(&p->rt.run_list, queue);
}

void yield_task_rt(rq* rq) {
  requeue_task_rt(rq, rq->curr, false);
}

void wakeup_preempt_rt(rq* rq, task_struct* p, int) {
  if (p->prio < rq->curr->prio) resched_curr(rq);
}

void set_next_task_rt(rq* rq, task_struct* p, bool) {
  p->se.exec_start = rq->clock_task;
}

task_struct* pick_next_task_rt(rq* rq, task_struct*) {
  rt_rq* rt = &rq->rt;
  if (!rt->rt_nr_running || rt->rt_throttled) return nullptr;
  int idx = sched_find_first_bit(rt->bitmap);
  task_struct* p = list_first_entry(&rt->queue[idx], task_struct, rt.run_list);
  set_next_task_rt(rq, p, true);
  return p;
}

void put_prev_task_rt(rq* rq, task_struct*) {
  update_curr_rt(rq);
}

void task_tick_rt(rq* rq, task_struct* p, int) {
  update_curr_rt(rq);
  if (p->policy != SCHED_RR) return;
  if (--p->rt.time_slice) return;
  p->rt.time_slice = sched_rr_timeslice;
  // Requeue to the end of the list only if we are not the only element on it.
  if (p->rt.run_list.prev != p->rt.run_list.next) {
    requeue_task_rt(rq, p, false);
    resched_curr(rq);
  }
}

// Wake-time placement: stay unless a higher or equal real-time task runs there; then take the
// allowed CPU running the lowest priority (an idle CPU first).
int select_task_rq_rt(task_struct* p, int cpu, int) {
  if (per_cpu_hot(static_cast<unsigned>(cpu))->curr_prio.load(std::memory_order_relaxed) > p->prio)
    return cpu;
  int best = cpu, best_prio = p->prio;
  for_each_cpu(c, p->cpus_ptr) {
    if (!cpu_active(static_cast<int>(c))) continue;
    int prio = per_cpu_hot(c)->curr_prio.load(std::memory_order_relaxed);
    if (prio > best_prio) {
      best = static_cast<int>(c);
      best_prio = prio;
    }
  }
  return best;
}

// Time slice is 0 for SCHED_FIFO tasks.
unsigned get_rr_interval_rt(rq*, task_struct* p) {
  return p->policy == SCHED_RR ? sched_rr_timeslice : 0;
}

void switching_to_rt(rq*, task_struct* p) {
  p->rt.time_slice = sched_rr_timeslice;
}

void prio_changed_rt(rq* rq, task_struct* p, int oldprio) {
  if (task_current(rq, p)) {
    if (oldprio < p->prio) resched_curr(rq);
  } else if (p->prio < rq->curr->prio) {
    resched_curr(rq);
  }
}

}  // namespace

void init_rt_bandwidth() {
  sched_rt_bandwidth.store(RT_BANDWIDTH_DEFAULT, std::memory_order_relaxed);
}

void init_rt_rq(rt_rq* rt, int cpu) {
  hrtimer_init(&rt->period_timer, sched_rt_period_timer);
  rt->period_timer.data = reinterpret_cast<void*>(static_cast<std::intptr_t>(cpu));
  for (auto& q : rt->queue) INIT_LIST_HEAD(&q);
  rt->bitmap[0] = rt->bitmap[1] = 0;
  rt->rt_nr_running = 0;
}

void exit_rt_rq(rt_rq* rt) {
  hrtimer_cancel(&rt->period_timer);
}

namespace {

// The running task stays on its queue: skip it.
task_struct* pick_task_rt(rq* rq) {
  for (int prio = 0; prio < MAX_RT_PRIO; prio++) {
    task_struct* t;
    list_for_each_entry(t, &rq->rt.queue[prio], rt.run_list) {
      if (t != rq->curr) return t;
    }
  }
  return nullptr;
}

}  // namespace

const sched_class rt_sched_class = {
    .name = "rt",
    .enqueue_task = enqueue_task_rt,
    .dequeue_task = dequeue_task_rt,
    .yield_task = yield_task_rt,
    .wakeup_preempt = wakeup_preempt_rt,
    .pick_next_task = pick_next_task_rt,
    .put_prev_task = put_prev_task_rt,
    .set_next_task = set_next_task_rt,
    .select_task_rq = select_task_rq_rt,
    .task_tick = task_tick_rt,
    .task_fork = nullptr,
    .switching_to = switching_to_rt,
    .switched_from = nullptr,
    .switched_to = nullptr,
    .prio_changed = prio_changed_rt,
    .update_curr = update_curr_rt,
    .migrate_task_rq = nullptr,
    .pick_task = pick_task_rt,
    .get_rr_interval = get_rr_interval_rt,
};

// sched_rt_handler(): a period of at least 1 us, a runtime of -1 or up to the period; checked
// against the other half of the same word, so that two writers cannot combine into a bad pair.
static int sched_rt_bandwidth_update(bool period, long long us) {
  if (us < (period ? 1 : -1) || us > INT32_MAX) return -EINVAL;
  u64 old = sched_rt_bandwidth.load(std::memory_order_relaxed), v;
  do {
    u64 period_us = period ? static_cast<u64>(us) : old >> 32;
    u32 runtime = period ? static_cast<u32>(old) : us < 0 ? RUNTIME_INF_US : static_cast<u32>(us);
    if (runtime != RUNTIME_INF_US && runtime > period_us) return -EINVAL;
    v = period_us << 32 | runtime;
  } while (!sched_rt_bandwidth.compare_exchange_weak(old, v, std::memory_order_relaxed));
  return 0;
}

int sched_rt_period_store(long long us) {
  return sched_rt_bandwidth_update(true, us);
}

int sched_rt_runtime_store(long long us) {
  return sched_rt_bandwidth_update(false, us);
}

void sched_rt_bandwidth_fetch(long long* period_us, long long* runtime_us) {
  u64 v = sched_rt_bandwidth.load(std::memory_order_relaxed);
  *period_us = static_cast<long long>(v >> 32);
  *runtime_us =
      static_cast<u32>(v) == RUNTIME_INF_US ? -1 : static_cast<long long>(static_cast<u32>(v));
}

}  // namespace cpustop

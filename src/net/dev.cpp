// Readiness into wakeups (the kernel's net/core/dev.c and sk_data_ready, in one): NET_RX takes
// the events of this CPU's readiness set and wakes the tasks sleeping on each socket through
// try_to_wake_up (remote ones through their CPU's wake list). The CPU hotplug state hands a
// dying CPU's set to a live CPU.
#include <cerrno>

#include "cpustop/cpu.h"
#include "cpustop/softirq.h"
#include "kernel/preempt.h"
#include "net/sock.h"

namespace cpustop::net {

int net_fd_table_init(unsigned nr_cpus);

namespace {

// A task sleeping on a socket: it wakes for the events in mask.
struct sk_waiter {
  wait_queue_entry wqe;
  u32 mask = 0;
};

int sk_wake_function(wait_queue_entry* wqe, unsigned, int, void* key) {
  auto* w = container_of(wqe, sk_waiter, wqe);
  auto events = static_cast<u32>(reinterpret_cast<std::uintptr_t>(key));
  if (!(events & w->mask)) return 0;
  return wake_up_state(static_cast<task_struct*>(wqe->private_), TASK_INTERRUPTIBLE);
}

// sk_data_ready / sk_write_space: the sequences move first, then the sleepers wake.
void sk_ready(u64 token, u32 events) {
  sock* sk = reinterpret_cast<sock*>(token);
  if (events & SK_IN_EVENTS) sk->rx_seq.fetch_add(1, std::memory_order_seq_cst);
  if (events & SK_OUT_EVENTS) sk->tx_seq.fetch_add(1, std::memory_order_seq_cst);
  net_stat_inc(NS_EVENTS);
  void* key = reinterpret_cast<void*>(static_cast<std::uintptr_t>(events));
  spin_irqsave_guard g(&sk->wq.lock);
  wait_queue_entry *curr, *next;
  list_for_each_entry_safe(curr, next, &sk->wq.head, entry)
      curr->func(curr, TASK_INTERRUPTIBLE, 0, key);
}

// A dying CPU's set (with those it collected) goes to the first CPU still online; it comes back
// when the CPU starts again. Both run with the other CPUs quiet (take_cpu_down, AP starting).
int net_cpu_starting(unsigned cpu) {
  arch::io_adopt(cpu, -1);
  return 0;
}

int net_cpu_dying(unsigned cpu) {
  cpumask online = cpu_online_mask_snapshot();
  online.clear(cpu);
  if (!online.empty()) arch::io_adopt(cpu, static_cast<int>(online.first()));
  return 0;
}

}  // namespace

void net_rx_action() {
  int cpu = raw_smp_processor_id();
  if (cpu < 0) return;
  net_read_lock();
  arch::io_poll(static_cast<unsigned>(cpu), sk_ready);
  net_read_unlock();
}

int sk_plan_wait(bool nonblock, std::int64_t timeout_ns, sk_wait_plan* plan) {
  plan->may_wait = !nonblock && timeout_ns != 0;
  plan->deadline = timeout_ns < 0 ? KTIME_MAX : arch::local_clock() + static_cast<u64>(timeout_ns);
  if (!plan->may_wait) return 0;
  task_struct* p = get_current();
  if (!p || is_idle_task(p) || in_interrupt()) return -EPERM;
  if (!might_sleep()) return -EDEADLK;
  return 0;
}

int sk_wait(sock* sk, const std::atomic<u32>& seq, u32 snap, u32 mask, u64 deadline) {
  task_struct* p = get_current();
  sk_waiter w;
  w.mask = mask;
  w.wqe.private_ = p;
  w.wqe.func = sk_wake_function;
  bool alone;
  {
    spin_irqsave_guard g(&sk->wq.lock);
    alone = list_empty(&sk->wq.head);
    list_add_tail(&w.wqe.entry, &sk->wq.head);
  }
  // Events come to the CPU that sleeps on the socket; a socket shared by tasks on several CPUs
  // stays where it is rather than bounce between sets.
  if (alone) sk_rehome(sk);
  net_stat_inc(NS_WAITS);
  hrtimer_sleeper timer;
  bool timed = deadline != KTIME_MAX;
  if (timed) {
    hrtimer_init_sleeper(&timer, p);
    hrtimer_start(&timer.timer, deadline);
  }
  int ret = 0;
  for (;;) {
    set_current_state(TASK_INTERRUPTIBLE);
    if (seq.load(std::memory_order_seq_cst) != snap) break;
    if (signal_pending(p)) {
      ret = -EINTR;
      break;
    }
    if (timed && !timer.task.load(std::memory_order_acquire)) {
      ret = -ETIMEDOUT;
      break;
    }
    schedule();
  }
  __set_current_state(TASK_RUNNING);
  if (timed) hrtimer_cancel(&timer.timer);
  spin_irqsave_guard g(&sk->wq.lock);
  list_del_init(&w.wqe.entry);
  return ret;
}

// subsys_initcall (net_dev_init): the table, NET_RX and the hotplug state.
int net_dev_init() {
  if (int err = net_fd_table_init(nr_cpu_ids())) return err;
  open_softirq(NET_RX_SOFTIRQ, net_rx_action);
  int state =
      cpuhp_setup_state(CPUHP_AP_STARTING_DYN, "net/dev:starting", net_cpu_starting, net_cpu_dying);
  return state < 0 ? state : 0;
}

}  // namespace cpustop::net

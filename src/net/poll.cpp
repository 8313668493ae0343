// poll(): one sleep on several sockets (fs/select.c's poll_wqueues). The caller's entries sit on
// every socket's wait queue; the OS tells the readiness they have now, and any event after that
// look ends the sleep.
#include <cerrno>
#include <vector>

#include "net/sock.h"

namespace cpustop::net {

namespace {

constexpr nfds_t POLL_MAX = 4096;

struct poll_entry {
  wait_queue_entry wqe;
  u32 mask = 0;
  sock* sk = nullptr;
  std::atomic<bool>* triggered = nullptr;
};

int pollwake(wait_queue_entry* wqe, unsigned, int, void* key) {
  auto* e = container_of(wqe, poll_entry, wqe);
  if (!(static_cast<u32>(reinterpret_cast<std::uintptr_t>(key)) & e->mask)) return 0;
  e->triggered->store(true, std::memory_order_seq_cst);
  return wake_up_state(static_cast<task_struct*>(wqe->private_), TASK_INTERRUPTIBLE);
}

}  // namespace

int poll(pollfd* fds, nfds_t nfds, std::int64_t timeout_ns) {
  if (nfds > POLL_MAX) return -EINVAL;
  if (!fds && nfds) return -EFAULT;
  sk_wait_plan w;
  if (int err = sk_plan_wait(false, timeout_ns, &w)) return err;
  std::vector<poll_entry> entries(nfds);
  std::vector<pollfd> os;  // the cpustop sockets among fds, as the OS sees them
  std::vector<nfds_t> index;
  os.reserve(nfds);
  index.reserve(nfds);
  std::atomic<bool> triggered{false};
  int nbad = 0;
  for (nfds_t i = 0; i < nfds; i++) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) continue;
    sock* sk = fdget(fds[i].fd);
    if (!sk) {
      fds[i].revents = POLLNVAL;  // counts as ready, as the kernel's
      nbad++;
      continue;
    }
    entries[i].sk = sk;
    entries[i].mask = (static_cast<u32>(fds[i].events) | arch::IO_ERR | arch::IO_HUP) &
                      (SK_IN_EVENTS | SK_OUT_EVENTS);
    entries[i].triggered = &triggered;
    os.push_back({fds[i].fd, fds[i].events, 0});
    index.push_back(i);
  }
  task_struct* p = get_current();
  hrtimer_sleeper timer;
  bool queued = false, timed = false;
  int ret;
  for (;;) {
    triggered.store(false, std::memory_order_seq_cst);
    int n = os.empty() ? 0 : arch::sock_poll_now(os.data(), static_cast<unsigned>(os.size()));
    if (n < 0 || n + nbad > 0 || !w.may_wait) {
      ret = n < 0 ? n : n + nbad;
      break;
    }
    if (!queued) {
      // Queue first, then look again: an event after that look sets `triggered`.
      queued = true;
      for (nfds_t i : index) {
        poll_entry& e = entries[i];
        e.wqe.private_ = p;
        e.wqe.func = pollwake;
        bool alone;
        {
          spin_irqsave_guard g(&e.sk->wq.lock);
          alone = list_empty(&e.sk->wq.head);
          list_add_tail(&e.wqe.entry, &e.sk->wq.head);
        }
        if (alone) sk_rehome(e.sk);
      }
      if (w.deadline != KTIME_MAX) {
        timed = true;
        hrtimer_init_sleeper(&timer, p);
        hrtimer_start(&timer.timer, w.deadline);
      }
      continue;
    }
    net_stat_inc(NS_WAITS);
    set_current_state(TASK_INTERRUPTIBLE);
    if (!triggered.load(std::memory_order_seq_cst)) {
      if (signal_pending(p)) {
        ret = -EINTR;
        break;
      }
      if (timed && !timer.task.load(std::memory_order_acquire)) {
        ret = 0;
        break;
      }
      schedule();
    }
    __set_current_state(TASK_RUNNING);
  }
  __set_current_state(TASK_RUNNING);
  if (timed) hrtimer_cancel(&timer.timer);
  for (std::size_t k = 0; k < index.size(); k++) {
    poll_entry& e = entries[index[k]];
    if (ret > 0) fds[index[k]].revents = os[k].revents;
    if (queued) {
      spin_irqsave_guard g(&e.sk->wq.lock);
      list_del_init(&e.wqe.entry);
    }
    sock_put(e.sk);
  }
  return ret;
}

}  // namespace cpustop::net

// The offload pool: host threads that run calls which block without readiness, so that no
// logical CPU's thread blocks in the OS. A FIFO under a spin flag (held for a few instructions;
// a CPU thread never sleeps on it), idle threads waiting on a futex, threads started on demand.
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "arch/arch.h"

namespace cpustop::arch {

namespace {

constexpr unsigned MAX_THREADS = 64;
constexpr std::int64_t IDLE_EXIT_NS = 5'000'000'000;  // an idle thread exits after 5 s

struct pool {
  std::atomic_flag lock = ATOMIC_FLAG_INIT;
  offload_work* head = nullptr;
  offload_work* tail = nullptr;
  unsigned nr_pending = 0;            // queued, not yet taken
  unsigned nr_idle = 0;               // threads waiting for work
  unsigned nr_threads = 0;            // started and not yet exited (detached)
  std::atomic<std::uint32_t> seq{0};  // futex word: bumped for every queued work
  bool stopping = false;
} p;

struct pool_guard {
  pool_guard() {
    while (p.lock.test_and_set(std::memory_order_acquire)) cpu_relax();
  }
  ~pool_guard() { p.lock.clear(std::memory_order_release); }
};

void remove(offload_work* w) {
  offload_work* prev = nullptr;
  for (offload_work* it = p.head; it; prev = it, it = it->next) {
    if (it != w) continue;
    (prev ? prev->next : p.head) = w->next;
    if (p.tail == w) p.tail = prev;
    p.nr_pending--;
    return;
  }
}

void* worker(void*) {
  pthread_setname_np(pthread_self(), "cpustop/offload");
  // Offloaded calls may write to sockets: a reset peer gives EPIPE, not a dead process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  sigaddset(&set, SIGURG);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  bool timed_out = false;
  for (;;) {
    offload_work* w = nullptr;
    std::uint32_t seq;
    {
      pool_guard g;
      if ((w = p.head)) {
        p.head = w->next;
        if (!p.head) p.tail = nullptr;
        p.nr_pending--;
      } else if (p.stopping || timed_out) {
        p.nr_threads--;
        return nullptr;
      } else {
        p.nr_idle++;
      }
      seq = p.seq.load(std::memory_order_relaxed);
    }
    if (w) {
      w->next = nullptr;
      w->fn(w);  // w may be gone once fn returns
      continue;
    }
    timed_out = futex_wait(&p.seq, seq, IDLE_EXIT_NS) == -ETIMEDOUT;
    pool_guard g;
    p.nr_idle--;
  }
}

}  // namespace

int offload_queue(offload_work* w) {
  w->next = nullptr;
  bool start = false, wake;
  {
    pool_guard g;
    if (p.stopping) return -EAGAIN;
    (p.tail ? p.tail->next : p.head) = w;
    p.tail = w;
    p.nr_pending++;
    p.seq.store(p.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    // Every queued work needs a thread of its own: the calls may block for long.
    if (p.nr_pending > p.nr_idle && p.nr_threads < MAX_THREADS) {
      p.nr_threads++;
      start = true;
    }
    wake = p.nr_idle > 0;
  }
  if (wake) futex_wake(&p.seq, 1);
  if (!start) return 0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int err = pthread_create(&t, &attr, worker, nullptr);
  pthread_attr_destroy(&attr);
  if (err == 0) return 0;
  pool_guard g;
  p.nr_threads--;
  // The work waits for a busy thread, unless there is none at all.
  if (p.nr_threads > 0) return 0;
  remove(w);
  return -EAGAIN;
}

void offload_exit() {
  {
    pool_guard g;
    p.stopping = true;
    p.seq.store(p.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  for (;;) {
    futex_wake(&p.seq, INT32_MAX);
    {
      pool_guard g;
      if (p.nr_threads == 0) {
        p.stopping = false;
        return;
      }
    }
    os_sleep_ns(100000);
  }
}

}  // namespace cpustop::arch

// The readiness sets and the halt of an idle CPU, on epoll(7).
//
// Each logical CPU has two epoll instances. `set` holds the descriptors the kernel layer armed,
// edge-triggered. `halt` holds the CPU's kick eventfd, its own `set` and the sets of offline CPUs
// it adopted (level-triggered, nested): a halted CPU waits on `halt` alone, which says only that
// something is ready. Events are taken from the sets by io_poll(), never by the halt, so the
// kernel layer knows when an event may still name a descriptor: only inside an io_poll() that
// started before io_disarm() returned.
//
// epoll rather than io_uring: see bench/http.cpp (`cpustop bench http` measures both).
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"

namespace cpustop::arch {

namespace {

constexpr std::uint64_t KICK_TOKEN = ~std::uint64_t{0};
constexpr int POLL_BATCH = 64;
constexpr int POLL_ROUNDS = 4;  // at most 256 events per io_poll(), as NAPI's budget

struct alignas(64) io_cpu {
  int set = -1;
  int halt = -1;
  int kick = -1;
  std::atomic<int> nr_armed{0};
  std::atomic<int> nr_adopted{0};        // offline CPUs whose sets this CPU collects
  std::atomic<int> adopted_by{-1};       // while offline: the CPU that collects this set
  std::atomic<bool> halt_on_set{false};  // how the current halt waits: epoll, else futex
};

io_cpu* cpus;
unsigned nr_cpus;
std::atomic_flag adopt_lock = ATOMIC_FLAG_INIT;

int epoll_add(int epfd, int fd, std::uint32_t events, std::uint64_t token) {
  epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = token;
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int poll_set(int set, void (*fn)(std::uint64_t, std::uint32_t)) {
  int total = 0;
  for (int round = 0; round < POLL_ROUNDS; round++) {
    epoll_event ev[POLL_BATCH];
    int n = epoll_wait(set, ev, POLL_BATCH, 0);
    for (int i = 0; i < n; i++) fn(ev[i].data.u64, ev[i].events);
    if (n > 0) total += n;
    if (n < POLL_BATCH) break;
  }
  return total;
}

void close_cpu(io_cpu& c) {
  for (int fd : {c.set, c.halt, c.kick})
    if (fd >= 0) close(fd);
  c.set = c.halt = c.kick = -1;
}

}  // namespace

int io_init(unsigned nr) {
  if (cpus) return -EBUSY;
  cpus = new io_cpu[nr];
  nr_cpus = nr;
  for (unsigned i = 0; i < nr; i++) {
    io_cpu& c = cpus[i];
    c.set = epoll_create1(EPOLL_CLOEXEC);
    c.halt = epoll_create1(EPOLL_CLOEXEC);
    c.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int err = (c.set < 0 || c.halt < 0 || c.kick < 0) ? -errno : 0;
    // Never read: with EPOLLET every write is a new event, so a kick costs one write.
    if (!err) err = epoll_add(c.halt, c.kick, EPOLLIN | EPOLLET, KICK_TOKEN);
    if (!err) err = epoll_add(c.halt, c.set, EPOLLIN, i);
    if (err) {
      io_exit();
      return err;
    }
  }
  return 0;
}

void io_exit() {
  if (!cpus) return;
  for (unsigned i = 0; i < nr_cpus; i++) close_cpu(cpus[i]);
  delete[] cpus;
  cpus = nullptr;
  nr_cpus = 0;
}

int io_arm(unsigned cpu, int fd, std::uint64_t token) {
  if (!cpus || cpu >= nr_cpus) return -ENODEV;
  int err =
      epoll_add(cpus[cpu].set, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET, token);
  if (!err) cpus[cpu].nr_armed.fetch_add(1, std::memory_order_relaxed);
  return err;
}

int io_disarm(unsigned cpu, int fd) {
  if (!cpus || cpu >= nr_cpus) return -ENODEV;
  if (epoll_ctl(cpus[cpu].set, EPOLL_CTL_DEL, fd, nullptr) != 0) return -errno;
  cpus[cpu].nr_armed.fetch_sub(1, std::memory_order_relaxed);
  return 0;
}

bool io_active(unsigned cpu) {
  if (!cpus || cpu >= nr_cpus) return false;
  const io_cpu& c = cpus[cpu];
  return c.nr_armed.load(std::memory_order_relaxed) > 0 ||
         c.nr_adopted.load(std::memory_order_relaxed) > 0;
}

int io_poll(unsigned cpu, void (*fn)(std::uint64_t, std::uint32_t)) {
  if (!cpus || cpu >= nr_cpus) return 0;
  io_cpu& c = cpus[cpu];
  int n = c.nr_armed.load(std::memory_order_relaxed) > 0 ? poll_set(c.set, fn) : 0;
  if (c.nr_adopted.load(std::memory_order_acquire) > 0) {
    for (unsigned x = 0; x < nr_cpus; x++)
      if (cpus[x].adopted_by.load(std::memory_order_acquire) == static_cast<int>(cpu))
        n += poll_set(cpus[x].set, fn);
  }
  return n;
}

void io_adopt(unsigned from, int to) {
  if (!cpus || from >= nr_cpus || to >= static_cast<int>(nr_cpus)) return;
  while (adopt_lock.test_and_set(std::memory_order_acquire)) cpu_relax();
  auto move = [](unsigned x, int dst) {
    io_cpu& c = cpus[x];
    int old = c.adopted_by.load(std::memory_order_relaxed);
    if (old == dst) return;
    if (old >= 0) {
      epoll_ctl(cpus[old].halt, EPOLL_CTL_DEL, c.set, nullptr);
      cpus[old].nr_adopted.fetch_sub(1, std::memory_order_release);
    }
    if (dst >= 0) {
      epoll_add(cpus[dst].halt, c.set, EPOLLIN, x);
      cpus[dst].nr_adopted.fetch_add(1, std::memory_order_release);
    }
    c.adopted_by.store(dst, std::memory_order_release);
  };
  if (to >= 0) {
    // What `from` collected for others goes along with its own set.
    for (unsigned x = 0; x < nr_cpus; x++)
      if (cpus[x].adopted_by.load(std::memory_order_relaxed) == static_cast<int>(from)) move(x, to);
  }
  move(from, to);
  adopt_lock.clear(std::memory_order_release);
}

int cpu_halt(unsigned cpu, std::atomic<std::uint32_t>* word, std::uint32_t val,
             std::int64_t timeout_ns) {
  // A CPU without I/O halts on a futex, which wakes faster than the nested epoll.
  bool on_set = io_active(cpu);
  if (cpus && cpu < nr_cpus) cpus[cpu].halt_on_set.store(on_set, std::memory_order_seq_cst);
  // Dekker with cpu_kick(): the kicker changes *word, then reads how we wait.
  if (word->load(std::memory_order_seq_cst) != val) return 0;
  if (!on_set) {
    futex_wait(word, val, timeout_ns);
    return 0;
  }
  timespec ts, *tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  epoll_event ev[8];
  int n = epoll_pwait2(cpus[cpu].halt, ev, 8, tsp, nullptr);
  int ret = 0;
  for (int i = 0; i < n; i++)
    if (ev[i].data.u64 != KICK_TOKEN) ret = HALT_IO;
  return ret;
}

void cpu_kick(unsigned cpu, std::atomic<std::uint32_t>* word) {
  if (!cpus || cpu >= nr_cpus || !cpus[cpu].halt_on_set.load(std::memory_order_seq_cst)) {
    futex_wake(word, 1);
    return;
  }
  std::uint64_t one = 1;
  ssize_t r = write(cpus[cpu].kick, &one, sizeof(one));
  (void)r;
}

}  // namespace cpustop::arch

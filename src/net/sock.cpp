// struct sock's life: the descriptor table (fs/file.c's fdget without RCU), the read side that
// protects socks from readiness events still in flight, and moving a socket between readiness
// sets.
#include "net/sock.h"

#include <memory>

#include "cpustop/cpu.h"
#include "kernel/locking/cond_wait.h"
#include "kernel/preempt.h"
#include "kernel/printk.h"

namespace cpustop::net {

namespace {

struct alignas(64) net_cpu {
  std::atomic<u64> read_seq{0};  // odd while a read section runs on this CPU
  int read_nest = 0;
  stat_u64 stats[NR_NS] = {};
};

std::unique_ptr<std::atomic<sock*>[]> fd_table;
unsigned fd_table_size;
std::unique_ptr<net_cpu[]> net_cpus;
unsigned nr_net_cpus;
// Threads outside cpustop in a read section (they have no CPU of their own).
std::atomic<int> external_readers{0};
stat_u64 external_stats[NR_NS];
std::atomic<std::uint64_t> nr_sockets{0};

void sk_free(sock* sk) {
  int home = sk->home.load(std::memory_order_acquire);
  if (home >= 0) arch::io_disarm(static_cast<unsigned>(home), sk->fd);
  arch::sock_close(sk->fd);
  // A CPU may hold an event for sk that it took from the set before the disarm.
  synchronize_net();
  nr_sockets.fetch_sub(1, std::memory_order_relaxed);
  delete sk;
}

}  // namespace

void net_read_lock() {
  __preempt_count_add(1);
  int cpu = raw_smp_processor_id();
  if (cpu < 0 || !net_cpus) {
    external_readers.fetch_add(1, std::memory_order_seq_cst);
    return;
  }
  net_cpu* c = &net_cpus[cpu];
  if (c->read_nest++ == 0) c->read_seq.fetch_add(1, std::memory_order_seq_cst);
}

void net_read_unlock() {
  int cpu = raw_smp_processor_id();
  if (cpu < 0 || !net_cpus) {
    external_readers.fetch_sub(1, std::memory_order_release);
  } else {
    net_cpu* c = &net_cpus[cpu];
    if (--c->read_nest == 0) c->read_seq.fetch_add(1, std::memory_order_release);
  }
  __preempt_enable();
}

void synchronize_net() {
  // A full barrier (TSan knows no fences): what the caller unpublished is ordered before the
  // looks at the CPUs' sequences.
  external_readers.fetch_add(0, std::memory_order_seq_cst);
  for (unsigned cpu = 0; cpu < nr_net_cpus; cpu++) {
    net_cpu* c = &net_cpus[cpu];
    u64 seq = c->read_seq.load(std::memory_order_seq_cst);
    if (seq & 1) cond_wait([&] { return c->read_seq.load(std::memory_order_acquire) != seq; });
  }
  cond_wait([] { return external_readers.load(std::memory_order_acquire) == 0; });
}

void net_stat_inc(net_stat_item item) {
  int cpu = raw_smp_processor_id();
  if (cpu >= 0 && net_cpus)
    stat_add(net_cpus[cpu].stats[item], 1);
  else
    external_stats[item].fetch_add(1, std::memory_order_relaxed);
}

sock* fdget(int fd) {
  if (fd < 0 || static_cast<unsigned>(fd) >= fd_table_size) return nullptr;
  net_read_lock();
  sock* sk = fd_table[fd].load(std::memory_order_seq_cst);
  // The table's reference may be going away (close): take one only while others remain.
  if (sk) {
    int r = sk->refcnt.load(std::memory_order_relaxed);
    do {
      if (r == 0) {
        sk = nullptr;
        break;
      }
    } while (!sk->refcnt.compare_exchange_weak(r, r + 1, std::memory_order_acquire));
  }
  net_read_unlock();
  return sk;
}

void sock_put(sock* sk) {
  if (sk->refcnt.fetch_sub(1, std::memory_order_acq_rel) == 1) sk_free(sk);
}

int sock_install(int fd, int type, bool nonblock) {
  if (static_cast<unsigned>(fd) >= fd_table_size) {
    arch::sock_close(fd);
    return -EMFILE;
  }
  auto* sk = new (std::nothrow) sock;
  if (!sk) {
    arch::sock_close(fd);
    return -ENOMEM;
  }
  sk->fd = fd;
  sk->type = type;
  sk->stream = type == SOCK_STREAM;
  sk->nonblock = nonblock;
  init_waitqueue_head(&sk->wq);
  nr_sockets.fetch_add(1, std::memory_order_relaxed);
  // Arm where the creator runs; a task elsewhere moves it at its first sleep.
  int cpu = raw_smp_processor_id();
  if (cpu >= 0 && arch::io_arm(static_cast<unsigned>(cpu), fd, reinterpret_cast<u64>(sk)) == 0)
    sk->home.store(cpu, std::memory_order_release);
  // The OS descriptor stays open until the sock is freed, so the slot is ours.
  fd_table[fd].store(sk, std::memory_order_release);
  return fd;
}

int sock_uninstall(int fd) {
  if (fd < 0 || static_cast<unsigned>(fd) >= fd_table_size) return -EBADF;
  sock* sk = fd_table[fd].exchange(nullptr, std::memory_order_seq_cst);
  if (!sk) return -EBADF;
  sock_put(sk);
  return 0;
}

void sk_rehome(sock* sk) {
  int cpu = raw_smp_processor_id();
  int home = sk->home.load(std::memory_order_acquire);
  if (cpu < 0 || home == HOME_MOVING) return;
  if (home == cpu) {
    if (sk->away.load(std::memory_order_relaxed)) sk->away.store(0, std::memory_order_relaxed);
    return;
  }
  // A task the balancer moves for a moment is woken through its CPU's wake list; one that stays
  // (or whose home went offline) takes its socket along.
  if (home >= 0 && cpu_online(home) &&
      sk->away.fetch_add(1, std::memory_order_relaxed) + 1 < REHOME_AFTER)
    return;
  sk->away.store(0, std::memory_order_relaxed);
  if (!sk->home.compare_exchange_strong(home, HOME_MOVING, std::memory_order_acq_rel)) return;
  // Adding reports the readiness fd already has: nothing that happens in between is lost.
  if (home >= 0) arch::io_disarm(static_cast<unsigned>(home), sk->fd);
  int to = cpu;
  if (arch::io_arm(static_cast<unsigned>(cpu), sk->fd, reinterpret_cast<u64>(sk)) != 0) {
    to = home >= 0 &&
                 arch::io_arm(static_cast<unsigned>(home), sk->fd, reinterpret_cast<u64>(sk)) == 0
             ? home
             : HOME_NONE;
    if (to == HOME_NONE) printk_fmt("net: socket %d is in no readiness set", sk->fd);
  }
  sk->home.store(to, std::memory_order_release);
  net_stat_inc(NS_REHOMES);
}

int net_fd_table_init(unsigned nr_cpus) {
  fd_table_size = arch::nr_open();
  fd_table.reset(new (std::nothrow) std::atomic<sock*>[fd_table_size]);
  if (!fd_table) return -ENOMEM;
  for (unsigned i = 0; i < fd_table_size; i++)
    fd_table[i].store(nullptr, std::memory_order_relaxed);
  net_cpus.reset(new net_cpu[nr_cpus]);
  nr_net_cpus = nr_cpus;
  for (auto& s : external_stats) s.store(0, std::memory_order_relaxed);
  return 0;
}

void net_dev_exit() {
  if (!fd_table) return;
  // Sockets nobody closed: the machine is gone, so is every reader.
  unsigned leaked = 0;
  for (unsigned fd = 0; fd < fd_table_size; fd++) {
    if (sock* sk = fd_table[fd].exchange(nullptr, std::memory_order_acq_rel)) {
      leaked++;
      arch::sock_close(sk->fd);
      nr_sockets.fetch_sub(1, std::memory_order_relaxed);
      delete sk;
    }
  }
  if (leaked) printk_fmt("net: %u sockets were still open at shutdown", leaked);
  fd_table.reset();
  fd_table_size = 0;
  net_cpus.reset();
  nr_net_cpus = 0;
}

net_stats get_net_stats() {
  net_stats s;
  s.sockets = nr_sockets.load(std::memory_order_relaxed);
  u64 sum[NR_NS] = {};
  for (unsigned cpu = 0; cpu < nr_net_cpus; cpu++)
    for (int i = 0; i < NR_NS; i++) sum[i] += stat_read(net_cpus[cpu].stats[i]);
  for (int i = 0; i < NR_NS; i++) sum[i] += external_stats[i].load(std::memory_order_relaxed);
  s.events = sum[NS_EVENTS];
  s.waits = sum[NS_WAITS];
  s.reads_skipped = sum[NS_READS_SKIPPED];
  s.rehomes = sum[NS_REHOMES];
  s.offloaded = sum[NS_OFFLOADED];
  return s;
}

}  // namespace cpustop::net

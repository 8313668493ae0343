// The socket layer's private header (the kernel's include/net/sock.h and fs/file.c in one):
// struct sock, the descriptor table, the read side that keeps a sock alive for the readiness
// events that may still name it, and the sleep on a socket.
#pragma once

#include "cpustop/net.h"
#include "kernel/task.h"
#include "kernel/time/hrtimer.h"

namespace cpustop::net {

inline constexpr int HOME_NONE = -1;         // in no CPU's readiness set
inline constexpr int HOME_MOVING = -2;       // being moved between sets (sk_rehome)
inline constexpr unsigned REHOME_AFTER = 4;  // sleeps away from home before the socket follows

// Readiness that ends a sleep for input and for output.
inline constexpr u32 SK_IN_EVENTS =
    arch::IO_IN | arch::IO_PRI | arch::IO_ERR | arch::IO_HUP | arch::IO_RDHUP;
inline constexpr u32 SK_OUT_EVENTS = arch::IO_OUT | arch::IO_ERR | arch::IO_HUP;

struct sock {
  int fd = -1;  // the OS descriptor, which is also ours
  int type = 0;
  bool stream = false;         // SOCK_STREAM: a short read drained the queue
  bool nonblock = false;       // SOCK_NONBLOCK: never wait
  std::atomic<int> refcnt{1};  // the descriptor table's, plus one per call in progress
  // Readiness events seen for input and for output. A call reads its sequence, tries the OS, and
  // on -EAGAIN sleeps until the sequence moves: no event after the try can be missed.
  std::atomic<u32> rx_seq{0}, tx_seq{0};
  // rx_seq when a read came back short: the queue was empty, so the next read may sleep at once
  // instead of trying the OS first, until rx_seq moves.
  std::atomic<u32> rx_drained{~0u};
  std::atomic<int> home{HOME_NONE};  // the CPU whose readiness set holds fd
  std::atomic<unsigned> away{0};     // sleeps in a row on another CPU than home
  wait_queue_head wq;                // tasks sleeping on the socket
};

// ---- Descriptor table (fdget/fdput) -------------------------------------------------------------

// The sock of descriptor fd with a reference, or nullptr (-EBADF for the caller).
sock* fdget(int fd);
void sock_put(sock* sk);
// Wraps a new OS descriptor: allocates its sock, arms it on this CPU (if on one) and installs it.
// Returns fd, or -EMFILE (beyond the table; the OS descriptor is closed) or -ENOMEM.
int sock_install(int fd, int type, bool nonblock);
// Removes fd from the table and drops the table's reference. 0 or -EBADF.
int sock_uninstall(int fd);

struct fd_ref {
  sock* sk;
  explicit fd_ref(int fd) : sk(fdget(fd)) {}
  ~fd_ref() {
    if (sk) sock_put(sk);
  }
  fd_ref(const fd_ref&) = delete;
  fd_ref& operator=(const fd_ref&) = delete;
};

// ---- The read side (a tiny RCU) ---------------------------------------------------------------

// A sock is freed only after every CPU has left the read sections it was in when the sock left
// its readiness set: those are the lookups in the table and the NET_RX handler, which may hold
// an event naming it. Both are short and never sleep.
void net_read_lock();
void net_read_unlock();
// Waits until every read section that began before the call has ended (synchronize_net()).
void synchronize_net();

// ---- Readiness ---------------------------------------------------------------------------------

// NET_RX: takes this CPU's readiness events and wakes the sleepers (softirq context).
void net_rx_action();
// Called before sleeping on sk alone: moves sk into the readiness set of the caller's CPU when
// its home is offline or after REHOME_AFTER sleeps in a row elsewhere.
void sk_rehome(sock* sk);

// Sleeps (TASK_INTERRUPTIBLE) until seq no longer equals snap, for the events in mask. deadline is
// a local_clock() time or KTIME_MAX. 0, -EINTR or -ETIMEDOUT.
int sk_wait(sock* sk, const std::atomic<u32>& seq, u32 snap, u32 mask, u64 deadline);
// How a call may wait, checked first: timeout_ns 0 or a SOCK_NONBLOCK socket never waits; a call
// that may wait must be in a context that may sleep. Sets *may_wait and *deadline (a
// local_clock() time, KTIME_MAX: none). 0, or -EPERM (not a task) or -EDEADLK (atomic context).
struct sk_wait_plan {
  bool may_wait = false;
  u64 deadline = KTIME_MAX;
};
int sk_plan_wait(bool nonblock, std::int64_t timeout_ns, sk_wait_plan* plan);

// Statistics (net_stats), per CPU, written by the owner only.
enum net_stat_item { NS_EVENTS, NS_WAITS, NS_READS_SKIPPED, NS_REHOMES, NS_OFFLOADED, NR_NS };
void net_stat_inc(net_stat_item item);
void net_dev_exit();

}  // namespace cpustop::net

// The simulator's engine, shared by the files of arch/sim; not seen by the kernel layers.
//
// An entity is anything that runs: the host thread that called boot(), each virtual CPU (whose
// fiber runs the CPU's idle loop and, through the kernel's own context switches, its tasks), and
// the clock event device. Exactly one entity runs at a time. At each scheduling point the running
// entity is charged the operation's cost in virtual time and the strategy picks the next one
// among the runnable entities whose clock is within skew_ns of the slowest runnable one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "arch/arch.h"
#include "cpustop/sim.h"

namespace cpustop::arch::sim {

using u64 = std::uint64_t;
using cpustop::sim::config;
using cpustop::sim::stats;

// The operations the cost model charges (virtual ns in cost_ns[]).
enum class op : unsigned char {
  relax,       // cpu_relax()
  clock,       // local_clock()
  futex_wait,  // the call, before blocking
  futex_wake,
  yield,  // os_yield()
  ipi,    // irq_raise(): the sender's side
  NR
};
extern const u64 cost_ns[static_cast<int>(op::NR)];
// Virtual ns from a wake (futex, IPI) until the woken entity runs.
inline constexpr u64 wake_latency_ns = 1500;

enum class kind : unsigned char { host, cpu, clockevent };
enum class state : unsigned char { running, runnable, blocked, dead };

struct alignas(64) thread_area_block {
  unsigned char bytes[THREAD_AREA_SIZE];
};

struct entity {
  // What the run queue's heaps compare, together in the first cache line.
  u64 t = 0;        // this entity's clock
  unsigned id = 0;  // creation order: the only identity that enters a decision or the digest
  int heap_t = -1, heap_p = -1;  // positions in the run queue's heaps
  sim::state state = state::runnable;
  sim::kind kind = kind::host;
  bool irq_pending = false;
  bool timed_out = false;
  u64 prio = 0;  // PCT priority (higher runs first)
  int cpu = -1;
  // Blocking: the futex word waited on (nullptr: none), its FIFO bucket links, the timer.
  const void* wait_addr = nullptr;
  entity* wait_next = nullptr;
  entity* wait_prev = nullptr;
  u64 timer_seq = 0;
  void* slots[NR_SLOTS] = {};
  context ctx;                              // the fiber it runs, while it is not running
  stack stk;                                // its own stack (not for the host)
  void (*main)(entity*) = nullptr;          // what the entity's fiber runs
  std::unique_ptr<thread_area_block> area;  // thread_area(), made on first use
};

extern entity* current;

// Lazily creates the host entity; idempotent.
void ensure_init();
const config& cfg();

// A scheduling point: charges `o` to the running entity, lets the strategy switch, and delivers
// a pending interrupt.
void point(op o);
// Blocks the running entity until wake() or, if timeout_ns >= 0, until the timeout (then
// current->timed_out). The caller has linked it on whatever it waits for.
void block(std::int64_t timeout_ns);
// Makes a blocked entity runnable, its clock no earlier than the waker's plus the latency.
void wake(entity* e);
// A new entity, runnable now, running main(e) on its own fiber; when main returns it is dead.
entity* spawn(sim::kind k, int cpu, void (*main)(entity*));
// Frees a dead entity's stack and context (never the running one).
void reap(entity* e);

// The entity of virtual CPU `cpu` (cpu_thread.cpp), nullptr if it has none.
entity* cpu_entity(unsigned cpu);

// Futex queue (futex.cpp): unlinks a blocked entity from the word it waits on.
void futex_unlink(entity* e);

// The interrupt handler the kernel installed (irq.cpp); called at scheduling points.
void deliver_irq();

[[noreturn]] void fail(const std::string& why);

}  // namespace cpustop::arch::sim

// futex waits and wakes between entities: a FIFO queue per word (hashed by address into
// buckets, whose order never enters a decision: only entities of one word are compared, in the
// order they queued). Also the other blocking calls and panic_halt.
#include <cerrno>

#include "arch/sim/sim.h"

namespace cpustop::arch::sim {

namespace {

constexpr unsigned BUCKET_BITS = 12;

struct bucket {
  entity* head = nullptr;
  entity* tail = nullptr;
};
bucket buckets[1u << BUCKET_BITS];

bucket& bucket_of(const void* addr) {
  auto a = reinterpret_cast<std::uintptr_t>(addr) >> 2;
  return buckets[(a * 0x9e3779b97f4a7c15ull) >> (64 - BUCKET_BITS)];
}

}  // namespace

void futex_unlink(entity* e) {
  bucket& b = bucket_of(e->wait_addr);
  (e->wait_prev ? e->wait_prev->wait_next : b.head) = e->wait_next;
  (e->wait_next ? e->wait_next->wait_prev : b.tail) = e->wait_prev;
  e->wait_next = e->wait_prev = nullptr;
  e->wait_addr = nullptr;
}

}  // namespace cpustop::arch::sim

namespace cpustop::arch {

int futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t val, std::int64_t timeout_ns) {
  sim::ensure_init();
  sim::point(sim::op::futex_wait);
  if (word->load(std::memory_order_seq_cst) != val) return 0;
  sim::entity* e = sim::current;
  sim::bucket& b = sim::bucket_of(word);
  e->wait_addr = word;
  e->wait_prev = b.tail;
  e->wait_next = nullptr;
  (b.tail ? b.tail->wait_next : b.head) = e;
  b.tail = e;
  sim::block(timeout_ns);
  if (e->wait_addr) sim::futex_unlink(e);  // only while reporting a failure
  return e->timed_out ? -ETIMEDOUT : 0;
}

void futex_wake(std::atomic<std::uint32_t>* word, int nr) {
  sim::ensure_init();
  sim::point(sim::op::futex_wake);
  sim::bucket& b = sim::bucket_of(word);
  for (sim::entity* e = b.head; e && nr > 0;) {
    sim::entity* next = e->wait_next;
    if (e->wait_addr == word) {
      sim::futex_unlink(e);
      sim::wake(e);
      nr--;
    }
    e = next;
  }
}

void os_yield() {
  sim::ensure_init();
  sim::point(sim::op::yield);
}

void os_sleep_ns(std::uint64_t ns) {
  sim::ensure_init();
  sim::point(sim::op::futex_wait);
  sim::block(static_cast<std::int64_t>(ns));
}

// A BUG or panic ends the run as a failure with its seed (the kernel log says which).
void panic_halt() {
  sim::fail("panic: the kernel reported a BUG or panic (see the kernel log)");
}

}  // namespace cpustop::arch

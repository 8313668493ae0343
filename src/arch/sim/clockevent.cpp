// The clock event device in the simulator: an entity that runs the same loop as the native
// device's thread, sleeping on the sim futex until the time the kernel's handler asked for.
#include <cerrno>

#include "arch/sim/sim.h"

namespace cpustop::arch {

namespace {

sim::entity* device;
std::atomic<std::uint32_t> seq{0};
std::atomic<bool> stopping{false};
std::atomic<std::uint32_t> exited{0};
std::uint64_t (*handler_fn)();

void clockevent_main(sim::entity*) {
  while (!stopping.load(std::memory_order_acquire)) {
    std::uint32_t s = seq.load(std::memory_order_acquire);
    std::uint64_t next = handler_fn();
    std::uint64_t now = local_clock();
    if (next > now) futex_wait(&seq, s, static_cast<std::int64_t>(next - now));
  }
  exited.store(1);
  futex_wake(&exited, 1);
}

}  // namespace

int clockevent_start(std::uint64_t (*handler)()) {
  if (device) return -EBUSY;
  handler_fn = handler;
  stopping.store(false);
  exited.store(0);
  device = sim::spawn(sim::kind::clockevent, -1, clockevent_main);
  return 0;
}

void clockevent_kick() {
  seq.fetch_add(1, std::memory_order_release);
  futex_wake(&seq, 1);
}

void clockevent_stop() {
  if (!device) return;
  stopping.store(true, std::memory_order_release);
  clockevent_kick();
  while (!exited.load()) futex_wait(&exited, 0);
  // It returns from its main right after the wake: let it finish before freeing its stack.
  while (device->state != sim::state::dead) os_yield();
  sim::reap(device);
  device = nullptr;
}

}  // namespace cpustop::arch

// The clock event device: one OS thread that raises timer interrupts on the logical CPUs at
// the times the kernel layer asks for (its tick and its earliest hrtimer).
#include <pthread.h>
#include <sys/prctl.h>

#include <cerrno>

#include "arch/arch.h"

namespace cpustop::arch {

namespace {

pthread_t thread;
bool running;
std::atomic<std::uint32_t> seq{0};
std::atomic<bool> stopping{false};
std::uint64_t (*handler_fn)();

void* clockevent_main(void*) {
  pthread_setname_np(pthread_self(), "cpustop/clock");
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  while (!stopping.load(std::memory_order_acquire)) {
    std::uint32_t s = seq.load(std::memory_order_acquire);
    std::uint64_t next = handler_fn();
    std::uint64_t now = local_clock();
    if (next > now) futex_wait(&seq, s, static_cast<std::int64_t>(next - now));
  }
  return nullptr;
}

}  // namespace

int clockevent_start(std::uint64_t (*handler)()) {
  if (running) return -EBUSY;
  handler_fn = handler;
  stopping.store(false);
  int err = pthread_create(&thread, nullptr, clockevent_main, nullptr);
  if (err) return -err;
  running = true;
  return 0;
}

void clockevent_kick() {
  seq.fetch_add(1, std::memory_order_release);
  futex_wake(&seq, 1);
}

void clockevent_stop() {
  if (!running) return;
  stopping.store(true, std::memory_order_release);
  clockevent_kick();
  pthread_join(thread, nullptr);
  running = false;
}

}  // namespace cpustop::arch

// What a call site needs of a tracepoint (the kernel's include/linux/tracepoint.h): its key and
// an inline trace_<event>() that costs one load and a not-taken branch while nobody listens.
//
// The key is one 32-bit word per event, named cpustop_<event>_semaphore and kept in the .probes
// section: its low half is the USDT semaphore that perf and bpftrace raise while they are
// attached to the probe, its high half is set while the event records into the ring buffers.
// Either one sends the call into __trace_<event>(), which is out of line.
#pragma once

#include <atomic>
#include <cstdint>

namespace cpustop {

using tracepoint_key = std::atomic<std::uint32_t>;
inline constexpr std::uint32_t TRACEPOINT_USDT_MASK = 0xffff;
inline constexpr std::uint32_t TRACEPOINT_RING = 1u << 16;

// One compare of the key in memory and a jump not taken. On x86 the asm does the compare, as the
// compiler does not fold an atomic load into one.
#if defined(__x86_64__)
#define TRACEPOINT_CHECK(key, call)                                                  \
  do {                                                                               \
    asm goto("cmpl $0, %0\n\tjne %l[tracepoint_on]" : : "m"(key) : : tracepoint_on); \
    break;                                                                           \
  tracepoint_on:                                                                     \
    [[unlikely]] call;                                                               \
  } while (0)
#else
#define TRACEPOINT_CHECK(key, call)                                            \
  do {                                                                         \
    if (__builtin_expect((key).load(std::memory_order_relaxed) != 0, 0)) call; \
  } while (0)
#endif

#define TP_PROTO(...) __VA_ARGS__
#define TP_ARGS(...) __VA_ARGS__
#define PARAMS(...) __VA_ARGS__

#define DECLARE_TRACE(name, proto, args)                                                         \
  extern "C" tracepoint_key cpustop_##name##_semaphore;                                          \
  void __trace_##name(proto);                                                                    \
  inline bool trace_##name##_enabled() {                                                         \
    return __builtin_expect(cpustop_##name##_semaphore.load(std::memory_order_relaxed) != 0, 0); \
  }                                                                                              \
  inline void trace_##name(proto) {                                                              \
    TRACEPOINT_CHECK(cpustop_##name##_semaphore, __trace_##name(args));                          \
  }

}  // namespace cpustop

// Context switch with Boost.Context's fcontext. Every switch is bracketed for the sanitizers
// (ASan fake stacks, TSan fibers) and carries the C++ runtime's per-thread exception state
// with the fiber, so that a task switched out inside a catch block finds its own state again.
#include <pthread.h>

#include <boost/context/detail/fcontext.hpp>

#include "arch/arch.h"

#if defined(__SANITIZE_ADDRESS__)
#define CPUSTOP_ASAN 1
#include <sanitizer/asan_interface.h>
#endif
#if defined(__SANITIZE_THREAD__)
#define CPUSTOP_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif

// Declared here rather than through <cxxabi.h>, whose declaration is __attribute__((const)):
// the compiler could then reuse one thread's answer after the fiber moved to another thread.
extern "C" void* __cxa_get_globals() noexcept;

namespace cpustop::arch {

namespace bctx = boost::context::detail;

namespace {

struct eh_globals {
  void* caught;
  unsigned int uncaught;
};

struct switch_msg {
  context* from;
  context* to;
  void* data;
};

// The calling thread's exception globals, cached in a thread slot: __cxa_get_globals() goes
// through __tls_get_addr in the shared libstdc++.
inline eh_globals* eh() {
  void* p = this_cpu_slot(SLOT_EH_GLOBALS);
  if (__builtin_expect(!p, 0)) {
    p = __cxa_get_globals();
    set_this_cpu_slot(p, SLOT_EH_GLOBALS);
  }
  return static_cast<eh_globals*>(p);
}

[[gnu::noinline, gnu::noipa]] void save_eh(context* c) {
  eh_globals* g = eh();
  c->eh_caught = g->caught;
  c->eh_uncaught = g->uncaught;
}

[[gnu::noinline, gnu::noipa]] void restore_eh(const context* c) {
  eh_globals* g = eh();
  g->caught = c->eh_caught;
  g->uncaught = c->eh_uncaught;
}

// Runs on the side that was just resumed: hand the suspended side its saved context.
inline switch_msg* arrived(bctx::transfer_t t, [[maybe_unused]] void* fake_stack) {
#if CPUSTOP_ASAN
  const void* bottom;
  std::size_t size;
  __sanitizer_finish_switch_fiber(fake_stack, &bottom, &size);
#endif
  auto* m = static_cast<switch_msg*>(t.data);
  m->from->fctx = t.fctx;
  return m;
}

void trampoline(bctx::transfer_t t) {
  switch_msg* m = arrived(t, nullptr);
  void (*entry)(void*) = m->to->entry;
  m->to->entry = nullptr;
  restore_eh(m->to);
  entry(m->data);
  __builtin_trap();  // entry() leaves only through a final context_switch(prev_dead = true)
}

}  // namespace

void context_init_thread(context* ctx) {
  *ctx = context{};
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr;
    std::size_t size;
    pthread_attr_getstack(&attr, &addr, &size);
    ctx->stack_bottom = addr;
    ctx->stack_size = size;
    pthread_attr_destroy(&attr);
  }
#if CPUSTOP_TSAN
  ctx->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void context_make(context* ctx, const stack& s, void (*entry)(void*)) {
  *ctx = context{};
  char* top = static_cast<char*>(s.base) + s.size;
  ctx->fctx = bctx::make_fcontext(top, s.size, trampoline);
  ctx->stack_bottom = s.base;
  ctx->stack_size = s.size;
  ctx->entry = entry;
  ctx->owns_fiber = true;
#if CPUSTOP_TSAN
  ctx->tsan_fiber = __tsan_create_fiber(0);
#endif
}

void* context_switch(context* prev, context* next, void* data, bool prev_dead) {
  save_eh(prev);
  switch_msg msg{prev, next, data};
  [[maybe_unused]] void* fake_stack = nullptr;
#if CPUSTOP_ASAN
  __sanitizer_start_switch_fiber(prev_dead ? nullptr : &fake_stack, next->stack_bottom,
                                 next->stack_size);
#else
  (void)prev_dead;
#endif
#if CPUSTOP_TSAN
  __tsan_switch_to_fiber(next->tsan_fiber, 0);
#endif
  bctx::transfer_t t = bctx::jump_fcontext(next->fctx, &msg);
  switch_msg* m = arrived(t, fake_stack);
  restore_eh(prev);
  return m->data;
}

void context_destroy(context* ctx) {
#if CPUSTOP_TSAN
  if (ctx->owns_fiber && ctx->tsan_fiber) __tsan_destroy_fiber(ctx->tsan_fiber);
#endif
  ctx->owns_fiber = false;
  ctx->tsan_fiber = nullptr;
  ctx->fctx = nullptr;
}

}  // namespace cpustop::arch

// The asynchronous interrupt: SIGURG to a CPU's thread. The handler may switch fibers (the
// kernel layer decides), so it is installed with SA_NODEFER: the signal stays unblocked in
// whatever runs next on this thread, and the interrupted fiber returns through sigreturn when
// it is resumed, on whichever thread that happens.
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <vector>

#include "arch/arch.h"
#include "arch/native/native.h"

namespace cpustop::arch {

namespace {

std::atomic<irq_handler_t> handler{nullptr};

struct text_range {
  std::uintptr_t lo, hi;
};
text_range app_text[8];
int nr_app_text;

void sigurg(int, siginfo_t*, void* uc) {
  int saved_errno = errno;
  irq_handler_t h = handler.load(std::memory_order_acquire);
  std::uintptr_t pc = 0;
#if defined(__x86_64__)
  pc = static_cast<std::uintptr_t>(static_cast<ucontext_t*>(uc)->uc_mcontext.gregs[REG_RIP]);
#else
  (void)uc;
#endif
  if (h) h(pc);
  errno = saved_errno;
}

int collect_app_text(dl_phdr_info* info, size_t, void*) {
  // The first object is the executable itself; cpustop is linked into it statically.
  for (int i = 0; i < info->dlpi_phnum && nr_app_text < 8; i++) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
      app_text[nr_app_text++] = {info->dlpi_addr + ph.p_vaddr,
                                 info->dlpi_addr + ph.p_vaddr + ph.p_memsz};
  }
  return 1;
}

}  // namespace

bool pc_in_app_text(std::uintptr_t pc) {
  for (int i = 0; i < nr_app_text; i++)
    if (pc >= app_text[i].lo && pc < app_text[i].hi) return true;
  return false;
}

void irq_install(irq_handler_t h) {
  if (nr_app_text == 0) dl_iterate_phdr(collect_app_text, nullptr);
  handler.store(h, std::memory_order_release);
  struct sigaction sa = {};
  sa.sa_sigaction = sigurg;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGURG, &sa, nullptr);
}

void irq_uninstall() {
  // Leave the handler installed (a late signal must not kill the process); it ignores
  // everything once the kernel layer's handler is gone.
  handler.store(nullptr, std::memory_order_release);
}

void irq_raise(unsigned cpu) {
  pid_t tid = cpu_thread_tid(cpu);
  if (tid > 0) syscall(SYS_tgkill, getpid(), tid, SIGURG);
}

}  // namespace cpustop::arch

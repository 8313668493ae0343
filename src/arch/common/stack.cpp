// Task stacks: anonymous mappings with a guard page below the usable area. Where the kernel
// supports guard regions (MADV_GUARD_INSTALL, Linux 6.13) the guard costs no extra VMA, so tens
// of thousands of stacks stay under vm.max_map_count; elsewhere it is an mprotect'ed page.
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace cpustop::arch {

namespace {
std::atomic<int> guard_regions{1};  // 1: try MADV_GUARD_INSTALL, 0: unsupported
}

std::size_t page_size() {
  static const std::size_t sz = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return sz;
}

int stack_alloc(std::size_t size, stack* out) {
  const std::size_t pg = page_size();
  size = (size + pg - 1) & ~(pg - 1);
  void* map = mmap(nullptr, size + pg, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (map == MAP_FAILED) return -ENOMEM;
  bool guarded = false;
  if (guard_regions.load(std::memory_order_relaxed)) {
    if (madvise(map, pg, MADV_GUARD_INSTALL) == 0)
      guarded = true;
    else
      guard_regions.store(0, std::memory_order_relaxed);
  }
  if (!guarded && mprotect(map, pg, PROT_NONE) != 0) {
    munmap(map, size + pg);
    return -ENOMEM;
  }
  out->base = static_cast<char*>(map) + pg;
  out->size = size;
  return 0;
}

void stack_free(stack* s) {
  if (!s->base) return;
  const std::size_t pg = page_size();
  munmap(static_cast<char*>(s->base) - pg, s->size + pg);
  s->base = nullptr;
  s->size = 0;
}

void stack_reuse([[maybe_unused]] const stack& s) {
#if defined(__SANITIZE_ADDRESS__)
  __asan_unpoison_memory_region(s.base, s.size);
#endif
}

}  // namespace cpustop::arch

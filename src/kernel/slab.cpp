// kmem_cache: per-CPU arrays of free objects in front of a locked pool (see slab.h).
#include "kernel/slab.h"

#include <algorithm>
#include <new>
#include <vector>

#include "kernel/locking/spinlock.h"
#include "kernel/percpu.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define slab_poison(p, n) __asan_poison_memory_region((p), (n))
#define slab_unpoison(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define slab_poison(p, n) ((void)(p), (void)(n))
#define slab_unpoison(p, n) ((void)(p), (void)(n))
#endif

namespace cpustop {

namespace {

// The kernel's array_cache limit and batchcount: a CPU that only allocates and one that only
// frees take the pool lock once per BATCHCOUNT objects.
constexpr unsigned AC_LIMIT = 64, AC_BATCHCOUNT = AC_LIMIT / 2;
constexpr unsigned OBJS_PER_BLOCK = 32;
constexpr std::size_t CACHE_LINE = 64;

struct alignas(CACHE_LINE) array_cache {
  unsigned avail = 0;
  void* entry[AC_LIMIT];
};

// A free object in the pool holds the link to the next (its first word stays unpoisoned).
struct free_obj {
  free_obj* next;
};

}  // namespace

struct kmem_cache {
  const char* name;
  std::size_t size;  // the stride: the object size rounded up to its alignment
  std::size_t align;
  unsigned nr_cpus;
  array_cache* cpu_cache;  // [nr_cpus]
  raw_spinlock_t lock{0, LOCK_UNCHECKED, 0};
  free_obj* pool = nullptr;   // under lock
  long pool_nr = 0;           // under lock: objects on the pool
  std::vector<void*> blocks;  // under lock: every block ever allocated, freed at destroy
};

namespace {

void pool_push(kmem_cache* s, void* obj) {
  slab_unpoison(obj, sizeof(free_obj));
  auto* f = static_cast<free_obj*>(obj);
  f->next = s->pool;
  s->pool = f;
  s->pool_nr++;
}

void* pool_pop(kmem_cache* s) {
  free_obj* f = s->pool;
  s->pool = f->next;
  s->pool_nr--;
  return f;
}

// Under s->lock: a block of new objects onto the pool. false when the heap is exhausted.
bool grow(kmem_cache* s) {
  void* block = ::operator new(s->size* OBJS_PER_BLOCK, std::align_val_t(s->align), std::nothrow);
  if (!block) return false;
  s->blocks.push_back(block);
  auto* base = static_cast<char*>(block);
  for (unsigned i = OBJS_PER_BLOCK; i-- > 0;) {
    slab_poison(base + i * s->size, s->size);
    pool_push(s, base + i * s->size);
  }
  return true;
}

}  // namespace

kmem_cache* kmem_cache_create(const char* name, std::size_t size, std::size_t align) {
  auto* s = new kmem_cache;
  s->name = name;
  s->align = std::max({align, alignof(free_obj), CACHE_LINE});
  s->size = (std::max(size, sizeof(free_obj)) + s->align - 1) & ~(s->align - 1);
  s->nr_cpus = nr_cpu_ids_;
  s->cpu_cache = new array_cache[s->nr_cpus];
  return s;
}

void kmem_cache_destroy(kmem_cache* s) {
  if (!s) return;
  for (void* block : s->blocks) {
    slab_unpoison(block, s->size * OBJS_PER_BLOCK);
    ::operator delete(block, std::align_val_t(s->align));
  }
  delete[] s->cpu_cache;
  delete s;
}

void* kmem_cache_alloc(kmem_cache* s) {
  thread_info* ti = current_thread_info();
  __preempt_count_add(ti, 1);
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  array_cache* ac = cpu >= 0 ? &s->cpu_cache[cpu] : nullptr;
  void* obj = nullptr;
  if (ac && ac->avail > 0) {
    obj = ac->entry[--ac->avail];
  } else {
    spin_irqsave_guard g(&s->lock);
    if (s->pool || grow(s)) {
      // Refill half the array with the same lock (see AC_BATCHCOUNT).
      for (unsigned n = 0; ac && n < AC_BATCHCOUNT && s->pool && s->pool->next; n++)
        ac->entry[ac->avail++] = pool_pop(s);
      obj = pool_pop(s);
    }
  }
  __preempt_enable(ti);
  if (obj) slab_unpoison(obj, s->size);
  return obj;
}

void kmem_cache_free(kmem_cache* s, void* obj) {
  slab_poison(obj, s->size);
  thread_info* ti = current_thread_info();
  __preempt_count_add(ti, 1);
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  if (cpu >= 0) {
    array_cache* ac = &s->cpu_cache[cpu];
    if (ac->avail == AC_LIMIT) {
      spin_irqsave_guard g(&s->lock);
      for (unsigned n = 0; n < AC_BATCHCOUNT; n++) pool_push(s, ac->entry[--ac->avail]);
    }
    ac->entry[ac->avail++] = obj;
  } else {
    spin_irqsave_guard g(&s->lock);
    pool_push(s, obj);
  }
  __preempt_enable(ti);
}

long kmem_cache_nr_active(kmem_cache* s) {
  spin_irqsave_guard g(&s->lock);
  long n = static_cast<long>(s->blocks.size() * OBJS_PER_BLOCK) - s->pool_nr;
  for (unsigned cpu = 0; cpu < s->nr_cpus; cpu++) n -= s->cpu_cache[cpu].avail;
  return n;
}

}  // namespace cpustop

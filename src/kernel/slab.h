// Object caches for fixed-size kernel objects (mm/slab: kmem_cache_create, kmem_cache_alloc).
//
// Each CPU keeps an array of free objects (the kernel's array_cache) in front of one pool shared
// under a lock; objects move between the two half an array at a time, and the pool grows by
// blocks of objects from the heap. In the steady state an object is allocated and freed on the
// same CPU without a lock, an atomic read-modify-write or a call into the heap allocator. Memory
// goes back to the heap only when the cache is destroyed. Under ASan a free object is poisoned,
// so a use after kmem_cache_free() is still reported.
#pragma once

#include <cstddef>

namespace cpustop {

struct kmem_cache;

// A cache of objects of `size` bytes aligned to `align` (at most 64 is useful: objects are laid
// out at a multiple of the cache line) for the boot's CPUs. Not on a hot path: it allocates.
kmem_cache* kmem_cache_create(const char* name, std::size_t size, std::size_t align);
// Frees every block of the cache; no object of it may be in use.
void kmem_cache_destroy(kmem_cache* s);
// Any context, including threads outside cpustop (they use the pool). Uninitialised memory for
// one object, or nullptr when the heap is exhausted.
void* kmem_cache_alloc(kmem_cache* s);
// Any context. obj must come from kmem_cache_alloc(s).
void kmem_cache_free(kmem_cache* s, void* obj);
// Objects allocated and not freed (slabinfo's active_objs). Exact only while nothing allocates
// or frees (the CPUs' arrays are read without their owners' exclusion): at shutdown.
long kmem_cache_nr_active(kmem_cache* s);

}  // namespace cpustop

// struct cpumask: a bitmap of logical CPUs with the kernel's helper names.
//
// A mask has room for NR_CPUS bits but touches only the 64-bit words below its highest set CPU:
// it keeps the number of words in use, and every bit beyond them is clear. Copies, weights,
// iteration and the set operations therefore cost what the boot's CPU count costs (the kernel
// gets the same from nr_cpumask_bits), not NR_CPUS. Masks are values; nothing here allocates.
// CPUs at or beyond nr_cpu_ids() may be set in a mask but never count as possible, online or
// active; CPUs at or beyond NR_CPUS are ignored.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace cpustop {

// Largest number of logical CPUs a boot may ask for (the kernel's CONFIG_NR_CPUS).
inline constexpr unsigned NR_CPUS = 4096;

class cpumask {
 public:
  constexpr cpumask() {}  // empty: no word in use, so nothing to clear
  constexpr cpumask(const cpumask& o) : nw_(o.nw_) { copy_words(o); }
  constexpr cpumask& operator=(const cpumask& o) {
    nw_ = o.nw_;
    copy_words(o);
    return *this;
  }

  static constexpr cpumask of(unsigned cpu) {
    cpumask m;
    m.set(cpu);
    return m;
  }
  // CPUs [0, n).
  static constexpr cpumask first_n(unsigned n) {
    cpumask m;
    n = std::min(n, NR_CPUS);
    for (; m.nw_ < n / 64; m.nw_++) m.bits_[m.nw_] = ~std::uint64_t{0};
    if (n % 64) m.bits_[m.nw_++] = (std::uint64_t{1} << (n % 64)) - 1;
    return m;
  }

  constexpr void set(unsigned cpu) {
    if (cpu >= NR_CPUS) return;
    if (cpu / 64 >= words()) grow(cpu / 64 + 1);
    bits_[cpu / 64] |= bit(cpu);
  }
  constexpr void clear(unsigned cpu) {
    if (cpu < NR_CPUS && cpu / 64 < words()) bits_[cpu / 64] &= ~bit(cpu);
  }
  constexpr bool test(unsigned cpu) const {
    return cpu < NR_CPUS && cpu / 64 < words() && (bits_[cpu / 64] & bit(cpu)) != 0;
  }
  constexpr void clear_all() { nw_ = 0; }
  constexpr unsigned weight() const {
    unsigned w = 0;
    for (unsigned i = 0; i < words(); i++) w += static_cast<unsigned>(std::popcount(bits_[i]));
    return w;
  }
  constexpr bool empty() const {
    for (unsigned i = 0; i < words(); i++)
      if (bits_[i]) return false;
    return true;
  }
  // First set CPU >= from, or NR_CPUS.
  constexpr unsigned next(unsigned from) const {
    unsigned w = from / 64;
    if (w >= words()) return NR_CPUS;
    std::uint64_t b = bits_[w] & (~std::uint64_t{0} << (from % 64));
    while (!b) {
      if (++w >= words()) return NR_CPUS;
      b = bits_[w];
    }
    return w * 64 + static_cast<unsigned>(std::countr_zero(b));
  }
  constexpr unsigned first() const { return next(0); }
  // Highest set CPU, or NR_CPUS when empty.
  constexpr unsigned last() const {
    for (unsigned w = words(); w-- > 0;)
      if (bits_[w]) return w * 64 + 63 - static_cast<unsigned>(std::countl_zero(bits_[w]));
    return NR_CPUS;
  }

  constexpr cpumask operator&(const cpumask& o) const {
    cpumask r;
    r.nw_ = std::min(words(), o.words());
    for (unsigned i = 0; i < r.words(); i++) r.bits_[i] = bits_[i] & o.bits_[i];
    return r;
  }
  constexpr cpumask operator|(const cpumask& o) const {
    const cpumask& big = words() >= o.words() ? *this : o;
    const cpumask& small = words() >= o.words() ? o : *this;
    cpumask r = big;
    for (unsigned i = 0; i < small.words(); i++) r.bits_[i] |= small.bits_[i];
    return r;
  }
  // this & ~o
  constexpr cpumask andnot(const cpumask& o) const {
    cpumask r = *this;
    for (unsigned i = 0, n = std::min(words(), o.words()); i < n; i++) r.bits_[i] &= ~o.bits_[i];
    return r;
  }
  constexpr bool intersects(const cpumask& o) const {
    for (unsigned i = 0, n = std::min(words(), o.words()); i < n; i++)
      if (bits_[i] & o.bits_[i]) return true;
    return false;
  }
  constexpr bool subset_of(const cpumask& o) const {
    for (unsigned i = 0; i < words(); i++)
      if (bits_[i] & ~(i < o.words() ? o.bits_[i] : 0)) return false;
    return true;
  }
  // First CPU set in both, or NR_CPUS.
  constexpr unsigned first_and(const cpumask& o) const {
    for (unsigned i = 0, n = std::min(words(), o.words()); i < n; i++)
      if (std::uint64_t b = bits_[i] & o.bits_[i])
        return i * 64 + static_cast<unsigned>(std::countr_zero(b));
    return NR_CPUS;
  }
  constexpr bool operator==(const cpumask& o) const {
    unsigned n = std::min(words(), o.words());
    for (unsigned i = 0; i < n; i++)
      if (bits_[i] != o.bits_[i]) return false;
    const cpumask& longer = words() > n ? *this : o;
    for (unsigned i = n; i < longer.words(); i++)
      if (longer.bits_[i]) return false;
    return true;
  }

  struct iterator {
    const cpumask* m;
    unsigned cpu;
    constexpr unsigned operator*() const { return cpu; }
    constexpr iterator& operator++() {
      cpu = m->next(cpu + 1);
      return *this;
    }
    constexpr bool operator!=(const iterator& o) const { return cpu != o.cpu; }
  };
  constexpr iterator begin() const { return {this, first()}; }
  constexpr iterator end() const { return {this, NR_CPUS}; }

 private:
  friend class atomic_cpumask;
  static constexpr unsigned kWords = NR_CPUS / 64;
  static constexpr std::uint64_t bit(unsigned cpu) { return std::uint64_t{1} << (cpu % 64); }
  // nw_, with the bound the compiler cannot see (it warns of out-of-bounds reads otherwise).
  constexpr unsigned words() const {
    if (nw_ > kWords) __builtin_unreachable();
    return nw_;
  }
  constexpr void copy_words(const cpumask& o) {
    for (unsigned i = 0; i < words(); i++) bits_[i] = o.bits_[i];
  }
  constexpr void grow(unsigned nw) {
    for (unsigned i = nw_; i < nw; i++) bits_[i] = 0;
    nw_ = nw;
  }

  std::uint32_t nw_ = 0;        // words in use: bits_[nw_..] are never read
  std::uint64_t bits_[kWords];  // NOLINT: left uninitialised beyond nw_ on purpose
};

// The kernel's names, for code that reads like kernel/sched.
inline void cpumask_set_cpu(unsigned cpu, cpumask* m) {
  m->set(cpu);
}
inline void cpumask_clear_cpu(unsigned cpu, cpumask* m) {
  m->clear(cpu);
}
inline bool cpumask_test_cpu(int cpu, const cpumask* m) {
  return cpu >= 0 && m->test(static_cast<unsigned>(cpu));
}
inline unsigned cpumask_weight(const cpumask* m) {
  return m->weight();
}
inline unsigned cpumask_first(const cpumask* m) {
  return m->first();
}
inline bool cpumask_empty(const cpumask* m) {
  return m->empty();
}
// dst = a & b; true when the result is not empty.
inline bool cpumask_and(cpumask* dst, const cpumask* a, const cpumask* b) {
  *dst = *a & *b;
  return !dst->empty();
}
inline bool cpumask_intersects(const cpumask* a, const cpumask* b) {
  return a->intersects(*b);
}
inline bool cpumask_subset(const cpumask* a, const cpumask* b) {
  return a->subset_of(*b);
}
inline bool cpumask_equal(const cpumask* a, const cpumask* b) {
  return *a == *b;
}
inline unsigned cpumask_first_and(const cpumask* a, const cpumask* b) {
  return a->first_and(*b);
}

#define for_each_cpu(cpu, mask) for (unsigned cpu : *(mask))

// Parses a CPU list in util-linux/kernel syntax: "0-3,5", "0-7:2" (every 2nd), "" is rejected.
// Returns 0, -EINVAL for malformed text, or -ERANGE for a CPU >= nr_cpus. *out is untouched on
// error.
int cpulist_parse(std::string_view text, unsigned nr_cpus, cpumask* out);
// Formats a mask as the shortest list, e.g. "0-3,5" ("" for an empty mask).
std::string cpumask_to_cpulist(const cpumask& m);
// Formats as the kernel's hex mask ("f", "1,00000000").
std::string cpumask_to_hex(const cpumask& m);

}  // namespace cpustop

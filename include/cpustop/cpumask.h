// struct cpumask: a fixed-size bitmap of logical CPUs with the kernel's helper names.
// Masks are values (32 bytes); nothing here allocates. CPUs at or beyond nr_cpu_ids() may be
// set in a mask but never count as possible, online or active.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace cpustop {

// Largest number of logical CPUs a boot may ask for (the kernel's CONFIG_NR_CPUS).
inline constexpr unsigned NR_CPUS = 256;

class cpumask {
 public:
  constexpr cpumask() = default;
  static constexpr cpumask of(unsigned cpu) {
    cpumask m;
    m.set(cpu);
    return m;
  }
  // CPUs [0, n).
  static constexpr cpumask first_n(unsigned n) {
    cpumask m;
    for (unsigned c = 0; c < n && c < NR_CPUS; c++) m.set(c);
    return m;
  }

  constexpr void set(unsigned cpu) {
    if (cpu < NR_CPUS) bits_[cpu / 64] |= bit(cpu);
  }
  constexpr void clear(unsigned cpu) {
    if (cpu < NR_CPUS) bits_[cpu / 64] &= ~bit(cpu);
  }
  constexpr bool test(unsigned cpu) const {
    return cpu < NR_CPUS && (bits_[cpu / 64] & bit(cpu)) != 0;
  }
  constexpr void clear_all() { bits_ = {}; }
  constexpr unsigned weight() const {
    unsigned w = 0;
    for (auto b : bits_) w += static_cast<unsigned>(std::popcount(b));
    return w;
  }
  constexpr bool empty() const {
    for (auto b : bits_)
      if (b) return false;
    return true;
  }
  // First set CPU >= from, or NR_CPUS.
  constexpr unsigned next(unsigned from) const {
    for (unsigned w = from / 64; w < kWords; w++) {
      std::uint64_t b = bits_[w];
      if (w == from / 64) b &= ~std::uint64_t{0} << (from % 64);
      if (b) return w * 64 + static_cast<unsigned>(std::countr_zero(b));
    }
    return NR_CPUS;
  }
  constexpr unsigned first() const { return next(0); }

  constexpr cpumask operator&(const cpumask& o) const {
    cpumask r;
    for (unsigned i = 0; i < kWords; i++) r.bits_[i] = bits_[i] & o.bits_[i];
    return r;
  }
  constexpr cpumask operator|(const cpumask& o) const {
    cpumask r;
    for (unsigned i = 0; i < kWords; i++) r.bits_[i] = bits_[i] | o.bits_[i];
    return r;
  }
  // this & ~o
  constexpr cpumask andnot(const cpumask& o) const {
    cpumask r;
    for (unsigned i = 0; i < kWords; i++) r.bits_[i] = bits_[i] & ~o.bits_[i];
    return r;
  }
  constexpr bool intersects(const cpumask& o) const { return !(*this & o).empty(); }
  constexpr bool subset_of(const cpumask& o) const { return andnot(o).empty(); }
  constexpr bool operator==(const cpumask& o) const = default;

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
  static constexpr unsigned kWords = NR_CPUS / 64;
  static constexpr std::uint64_t bit(unsigned cpu) { return std::uint64_t{1} << (cpu % 64); }
  std::array<std::uint64_t, kWords> bits_{};
};

// The kernel's names, for code that reads like kernel/sched.
inline void cpumask_set_cpu(unsigned cpu, cpumask* m) {
  m->set(cpu);
}
inline void cpumask_clear_cpu(unsigned cpu, cpumask* m) {
  m->clear(cpu);
}
inline bool cpumask_test_cpu(int cpu, const cpumask* m) {
  return cpu >= 0 && m->test(cpu);
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
  return (*a & *b).first();
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

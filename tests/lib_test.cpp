#include <gtest/gtest.h>

#include <cerrno>
#include <ostream>
#include <string>

#include "cpustop/cpumask.h"
#include "kernel/task.h"
#include "lib/atomic_cpumask.h"

namespace cpustop {

// gtest prints a mask as its CPU list (its bytes beyond the words in use are not initialised).
void PrintTo(const cpumask& m, std::ostream* os) {
  *os << '[' << cpumask_to_cpulist(m) << ']';
}

namespace {

TEST(cpulist, parses_util_linux_syntax) {
  cpumask m;
  ASSERT_EQ(cpulist_parse("0-3,5", 8, &m), 0);
  EXPECT_EQ(cpumask_to_cpulist(m), "0-3,5");
  ASSERT_EQ(cpulist_parse("0-7:2", 8, &m), 0);
  EXPECT_EQ(cpumask_to_cpulist(m), "0,2,4,6");
  ASSERT_EQ(cpulist_parse("3", 8, &m), 0);
  EXPECT_EQ(m, cpumask::of(3));
}

TEST(cpulist, rejects_malformed_lists_without_touching_the_mask) {
  cpumask m = cpumask::of(1);
  for (const char* bad : {"1-", "a", "5-2", "", "1,", ",1", "1--2", "0-7:0", "-1", "1:2", " 1"}) {
    EXPECT_EQ(cpulist_parse(bad, 8, &m), -EINVAL) << '"' << bad << '"';
    EXPECT_EQ(m, cpumask::of(1));
  }
  EXPECT_EQ(cpulist_parse("0-8", 8, &m), -ERANGE);
  EXPECT_EQ(cpulist_parse(std::to_string(NR_CPUS), NR_CPUS + 8, &m), -ERANGE);
  EXPECT_EQ(m, cpumask::of(1));
}

TEST(cpulist, reaches_NR_CPUS) {
  cpumask m;
  std::string top = std::to_string(NR_CPUS - 1);
  ASSERT_EQ(cpulist_parse("0-" + top + ":1024", NR_CPUS, &m), 0);
  EXPECT_EQ(m.weight(), NR_CPUS / 1024);
  ASSERT_EQ(cpulist_parse("1," + top, NR_CPUS, &m), 0);
  EXPECT_EQ(cpumask_to_cpulist(m), "1," + top);
  EXPECT_EQ(cpumask_to_cpulist(cpumask::first_n(NR_CPUS)), "0-" + top);
}

TEST(cpumask, set_operations_and_iteration) {
  cpumask a = cpumask::first_n(4), b = cpumask::of(3);
  b.set(70);
  EXPECT_EQ((a & b).weight(), 1u);
  EXPECT_EQ((a | b).weight(), 5u);
  EXPECT_TRUE(a.andnot(b).subset_of(a));
  EXPECT_FALSE(b.subset_of(a));
  unsigned sum = 0;
  for (unsigned c : b) sum += c;
  EXPECT_EQ(sum, 73u);
  EXPECT_EQ(b.next(4), 70u);
  EXPECT_EQ(cpumask_to_hex(cpumask::first_n(4)), "f");
  EXPECT_EQ(cpumask_to_hex(b), "40,00000000,00000008");
}

// A mask keeps only the words up to its highest CPU; operations between masks of different
// lengths must treat the missing words as clear.
TEST(cpumask, masks_of_different_lengths) {
  const unsigned top = NR_CPUS - 1;
  cpumask hi = cpumask::of(top), lo = cpumask::of(5), none;
  EXPECT_EQ(hi.weight(), 1u);
  EXPECT_EQ(hi.first(), top);
  EXPECT_EQ(hi.last(), top);
  EXPECT_EQ(hi.next(6), top);
  EXPECT_EQ(hi.next(top + 1), NR_CPUS);
  EXPECT_EQ(lo.next(6), NR_CPUS);
  EXPECT_EQ(none.first(), NR_CPUS);
  EXPECT_EQ(none.last(), NR_CPUS);
  EXPECT_TRUE(none.empty());

  cpumask both = hi | lo;
  EXPECT_EQ(both, lo | hi);
  EXPECT_EQ(both.weight(), 2u);
  EXPECT_EQ(both & lo, lo);
  EXPECT_EQ(lo & both, lo);
  EXPECT_EQ(both.andnot(hi), lo);
  EXPECT_EQ(lo.andnot(hi), lo);
  EXPECT_TRUE((hi & lo).empty());
  EXPECT_TRUE(lo.subset_of(both));
  EXPECT_FALSE(hi.subset_of(lo));
  EXPECT_TRUE(none.subset_of(lo));
  EXPECT_TRUE(both.intersects(hi));
  EXPECT_FALSE(lo.intersects(hi));
  EXPECT_EQ(both.first_and(hi), top);
  EXPECT_EQ(lo.first_and(hi), NR_CPUS);

  // A cleared high CPU leaves its words in use but equal to a short mask.
  cpumask grown = lo;
  grown.set(top);
  grown.clear(top);
  EXPECT_EQ(grown, lo);
  EXPECT_EQ(lo, grown);
  EXPECT_FALSE(grown.test(top));
  grown.clear_all();
  EXPECT_EQ(grown, none);

  // Beyond NR_CPUS nothing is set or found.
  cpumask m = lo;
  m.set(NR_CPUS);
  m.set(~0u);
  EXPECT_EQ(m, lo);
  EXPECT_FALSE(m.test(NR_CPUS));
  EXPECT_FALSE(m.test(~0u));
  EXPECT_FALSE(cpumask_test_cpu(-1, &m));

  EXPECT_EQ(cpumask::first_n(0), none);
  EXPECT_EQ(cpumask::first_n(65).weight(), 65u);
  EXPECT_EQ(cpumask::first_n(65).last(), 64u);
  EXPECT_EQ(cpumask::first_n(NR_CPUS + 5).weight(), NR_CPUS);
  EXPECT_EQ(cpumask::first_n(64).next(63), 63u);
  EXPECT_EQ(cpumask::first_n(64).next(64), NR_CPUS);

  unsigned seen = 0, sum = 0;
  for (unsigned c : cpumask::first_n(NR_CPUS)) {
    seen++;
    sum += c;
  }
  EXPECT_EQ(seen, NR_CPUS);
  EXPECT_EQ(sum, NR_CPUS * (NR_CPUS - 1) / 2);
}

TEST(atomic_cpumask, set_clear_load_and_store) {
  const unsigned top = NR_CPUS - 1;
  atomic_cpumask a;
  EXPECT_TRUE(a.load().empty());
  EXPECT_EQ(a.first(), NR_CPUS);
  a.set(3);
  a.set(top);
  a.set(NR_CPUS);  // ignored
  EXPECT_TRUE(a.test(3));
  EXPECT_TRUE(a.test(static_cast<int>(top)));
  EXPECT_FALSE(a.test(4));
  EXPECT_FALSE(a.test(-1));
  EXPECT_FALSE(a.test(static_cast<int>(NR_CPUS)));
  EXPECT_EQ(a.weight(), 2u);
  EXPECT_EQ(a.first(), 3u);
  cpumask want = cpumask::of(3);
  want.set(top);
  EXPECT_EQ(a.load(), want);
  a.clear(3);
  EXPECT_EQ(a.first(), top);
  EXPECT_EQ(a.load(), cpumask::of(top));
  // store() of a short mask clears the words the long one used.
  a.store(cpumask::first_n(2));
  EXPECT_EQ(a.load(), cpumask::first_n(2));
  EXPECT_FALSE(a.test(static_cast<int>(top)));
  EXPECT_EQ(a.weight(), 2u);
  a.store({});
  EXPECT_TRUE(a.load().empty());
  EXPECT_EQ(a.weight(), 0u);
}

// The letters of the kernel's task_state_index()/task_index_to_char(), for ps and sched_switch.
TEST(task_state, letters_are_the_kernels) {
  auto letter = [](unsigned state, unsigned exit_state = 0) {
    return task_index_to_char(__task_state_index(state, exit_state));
  };
  EXPECT_EQ(letter(TASK_RUNNING), 'R');
  EXPECT_EQ(letter(TASK_WAKING), 'R');
  EXPECT_EQ(letter(TASK_NEW), 'R');
  EXPECT_EQ(letter(TASK_INTERRUPTIBLE), 'S');
  EXPECT_EQ(letter(TASK_UNINTERRUPTIBLE), 'D');
  EXPECT_EQ(letter(TASK_IDLE), 'I');
  EXPECT_EQ(letter(TASK_PARKED), 'P');
  EXPECT_EQ(letter(TASK_DEAD, EXIT_ZOMBIE), 'Z');
  EXPECT_EQ(letter(TASK_DEAD, EXIT_DEAD), 'X');
  EXPECT_EQ(letter(TASK_RUNNING, EXIT_ZOMBIE), 'Z');
}

}  // namespace
}  // namespace cpustop

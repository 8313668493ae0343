#include <gtest/gtest.h>

#include <cerrno>

#include "cpustop/cpumask.h"
#include "kernel/task.h"

namespace cpustop {
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
  EXPECT_EQ(cpulist_parse("300", 512, &m), -ERANGE);
  EXPECT_EQ(m, cpumask::of(1));
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

}  // namespace
}  // namespace cpustop

namespace cpustop {
namespace {

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

// BUG/WARN: what they report (the kernel's "WARNING: CPU:" and "CPU: n PID: p Comm: c" lines),
// that WARN continues and yields its condition, that the _ONCE forms report once, and that BUG
// and panic halt with the report on the console.
#include <regex>

#include "kernel/bug.h"
#include "test_util.h"

namespace cpustop {
namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) n++;
  return n;
}

class bug : public test::machine {};

TEST_P(bug, warn_names_the_task_and_cpu_and_continues) {
  int cpu = -1;
  pid_t pid = spawn("worker", [&] {
    cpu = smp_processor_id();
    bool fired = WARN_ON(cpu >= 0);
    bool quiet = WARN_ON(cpu < 0);
    return fired && !quiet ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  int code = -1;
  ASSERT_EQ(join(pid, &code), 0);
  EXPECT_EQ(code, 0);
  std::string log = dmesg();
  EXPECT_EQ(count(log, "WARNING: CPU: "), 1u) << log;
  EXPECT_TRUE(std::regex_search(
      log, std::regex("WARNING: CPU: " + std::to_string(cpu) + " PID: " + std::to_string(pid) +
                      " at \\S*bug_test\\.cpp:[0-9]+ ")))
      << log;
  EXPECT_NE(
      log.find("CPU: " + std::to_string(cpu) + " PID: " + std::to_string(pid) + " Comm: worker"),
      std::string::npos)
      << log;
}

// One machine only: a WARN_ON_ONCE site stays quiet for the rest of the process.
class bug_once : public test::machine {};

TEST_P(bug_once, warn_once_reports_once_and_warn_prints_its_message) {
  ASSERT_EQ(test::run_task([] {
              int fired = 0;
              for (int i = 0; i < 3; i++) fired += WARN_ON_ONCE(i >= 0);
              for (int i = 0; i < 2; i++) fired += WARN(true, "round %d of the message", i);
              return fired == 5 ? 0 : 1;
            }),
            0);
  std::string log = dmesg();
  EXPECT_EQ(count(log, "WARNING: CPU: "), 3u) << log;
  EXPECT_EQ(count(log, "round 0 of the message"), 1u) << log;
  EXPECT_EQ(count(log, "round 1 of the message"), 1u) << log;
}

INSTANTIATE_TEST_SUITE_P(cpus, bug, ::testing::Values(1u, 2u), test::cpus_name);
INSTANTIATE_TEST_SUITE_P(cpus, bug_once, ::testing::Values(2u), test::cpus_name);

TEST(bug_halt, bug_halts_with_the_report_on_the_console) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(BUG(), "kernel BUG at \\S*bug_test\\.cpp:[0-9]+!(.|\n)*CPU: -1 PID: 0 Comm:");
  EXPECT_DEATH(BUG_ON(1 + 1 == 2), "kernel BUG at");
  EXPECT_DEATH(panic("the %s is gone", "stopper"),
               "Kernel panic - not syncing: the stopper is gone(.|\n)*CPU: ");
}

TEST(bug_halt, bug_on_false_continues) {
  BUG_ON(1 + 1 == 3);
  SUCCEED();
}

}  // namespace
}  // namespace cpustop

// Tracepoints: names, enabling, the ftrace text format and the stop-work events.
#include <regex>
#include <thread>

#include "test_util.h"

namespace cpustop {
namespace {

using test::on_cpu;
using test::run_task;

class tracing : public test::machine {
 protected:
  void TearDown() override {
    trace_event_enable("all", false);
    test::machine::TearDown();
  }
};
CPUSTOP_INSTANTIATE(tracing);

std::vector<trace_record> events_named(const std::string& name) {
  std::vector<trace_record> out;
  for (auto& r : trace_records())
    if (r.event == name) out.push_back(r);
  return out;
}

TEST_P(tracing, names_and_enabling) {
  auto names = trace_event_names();
  for (const char* n : {"sched:sched_switch", "sched:sched_wakeup", "sched:sched_migrate_task",
                        "stop:cpu_stop_queue", "stop:cpu_stop_start", "stop:cpu_stop_finish",
                        "cpuhp:cpuhp_enter", "irq:softirq_entry"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_EQ(trace_event_enable("sched:nonexistent"), -ENOENT);
  EXPECT_EQ(trace_event_enable("sched:*"), 0);
  EXPECT_TRUE(trace_event_enabled("sched_switch"));
  EXPECT_FALSE(trace_event_enabled("cpu_stop_queue"));
  EXPECT_EQ(trace_event_enable("all", false), 0);
  EXPECT_FALSE(trace_event_enabled("sched:sched_switch"));
  trace_clear();
  run_task([] { msleep(1); });
  EXPECT_TRUE(trace_records().empty()) << "disabled events record nothing";
}

TEST_P(tracing, stop_one_cpu_shows_queue_start_and_finish_by_migration_n) {
  unsigned cpu = ncpus() - 1;
  trace_clear();
  ASSERT_EQ(trace_event_enable("stop:*"), 0);
  EXPECT_EQ(run_task([cpu] { return stop_one_cpu(cpu, [] { return 5; }); }, on_cpu(0)), 5);
  trace_event_enable("stop:*", false);
  auto q = events_named("cpu_stop_queue");
  auto s = events_named("cpu_stop_start");
  auto f = events_named("cpu_stop_finish");
  ASSERT_EQ(q.size(), 1u);
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(q[0].comm, "test");
  EXPECT_NE(q[0].fields.find("cpu=" + std::to_string(cpu) + " fn="), std::string::npos);
  // caller is stop_one_cpu's return address (the kernel's _RET_IP_): code in this test.
  EXPECT_NE(q[0].fields.find("caller=cpustop::"), std::string::npos) << q[0].fields;
  EXPECT_EQ(q[0].fields.find("caller=0x"), std::string::npos) << q[0].fields;
  EXPECT_EQ(s[0].comm, "migration/" + std::to_string(cpu));
  EXPECT_EQ(s[0].cpu, static_cast<int>(cpu));
  EXPECT_NE(s[0].fields.find("invoke_stop_fn"), std::string::npos) << s[0].fields;
  EXPECT_NE(f[0].fields.find("ret=5"), std::string::npos);
  EXPECT_LE(q[0].ts_ns, s[0].ts_ns);
  EXPECT_LE(s[0].ts_ns, f[0].ts_ns);
  EXPECT_NE(s[0].flags.find('1'), std::string::npos)
      << "the stop function runs with preempt count 1";
}

TEST_P(tracing, ftrace_text_lines_have_the_kernel_layout) {
  trace_clear();
  ASSERT_EQ(trace_event_enable("sched:*"), 0);
  run_task([] { msleep(1); });
  trace_event_enable("sched:*", false);
  std::string text = trace_text();
  EXPECT_EQ(text.rfind("# tracer: nop\n", 0), 0u);
  std::regex line(
      R"(^ *\S+-\d+ +\[\d{3}\] [d.][N.][hHs.][0-9a-f.][0-9a-f.] +\d+\.\d{6}: sched_switch: prev_comm=\S+ prev_pid=\d+ prev_prio=\d+ prev_state=[RSDPIX]\+? ==> next_comm=\S+ next_pid=\d+ next_prio=\d+$)");
  int matched = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::string l = text.substr(start, end - start);
    if (l.find(": sched_switch: ") != std::string::npos) {
      EXPECT_TRUE(std::regex_match(l, line)) << l;
      matched++;
    }
    start = end + 1;
  }
  EXPECT_GT(matched, 0);
  auto forks = events_named("sched_process_fork");
  auto exits = events_named("sched_process_exit");
  auto news = events_named("sched_wakeup_new");
  ASSERT_FALSE(forks.empty());
  EXPECT_NE(forks[0].fields.find("child_comm=test"), std::string::npos) << forks[0].fields;
  EXPECT_FALSE(exits.empty());
  EXPECT_FALSE(news.empty());
}

TEST_P(tracing, migrate_event_has_the_kernel_fields) {
  if (ncpus() < 2) GTEST_SKIP();
  trace_clear();
  ASSERT_EQ(trace_event_enable("sched:sched_migrate_task"), 0);
  // A task woken while its CPU is excluded lands elsewhere: set_task_cpu fires the event.
  std::atomic<bool> ok{false};
  EXPECT_EQ(run_task([&] { ok = true; }, on_cpu(1)), 0);
  trace_event_enable("all", false);
  std::regex fields(R"(^comm=\S+ pid=\d+ prio=\d+ orig_cpu=\d+ dest_cpu=\d+$)");
  auto m = events_named("sched_migrate_task");
  for (const auto& r : m) EXPECT_TRUE(std::regex_match(r.fields, fields)) << r.fields;
  EXPECT_TRUE(ok.load());
}

}  // namespace
}  // namespace cpustop

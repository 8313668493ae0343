// The trace of three hot paths, event for event: a yield between two tasks, a spawn+join, and
// the migration of a running task through migration/N. Speed work on these paths must leave
// what the tracepoints say unchanged (which events, in which order, on which CPU, with which
// fields and flags). Timestamps, pids and code offsets are normalised away; a run in which a
// task outside the scenario (ksoftirqd, kworker, a tick's work) got onto a traced CPU is
// repeated, since its events belong to no path pinned here.
#include <fmt/core.h>

#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>

#include "test_util.h"

namespace cpustop {
namespace {

// The yield decisions follow vruntime differences below the wakeup granularity (2 ms on two
// CPUs): a run in which a CPU's events span more than 1 ms (the host stalled it, or a sanitizer
// slowed it) may take other decisions for reasons of timing alone, and is repeated.
constexpr std::uint64_t MAX_SPAN_NS = 1000000;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr bool SANITIZED = true;
#else
constexpr bool SANITIZED = false;
#endif

// pid -> "<comm>" for every task of the machine, plus the scenario's own names.
using pid_names = std::map<pid_t, std::string>;

pid_names names_now(pid_names extra = {}) {
  for (const task_info& t : task_list(true)) extra.emplace(t.pid, t.comm);
  return extra;
}

// "[cpu] comm flags event: fields" per record, grouped by CPU in each CPU's order, with every
// pid written as <comm> and the caller's code address as <code>. Records of the machine's own
// background (a task not in `scenario`) or a stall of a CPU make the run unusable: returns {}.
std::vector<std::string> normalised(const std::vector<trace_record>& records,
                                    const pid_names& names, const std::set<std::string>& scenario) {
  static const std::regex pid_field(R"((\b\w*pid)=(-?\d+))");
  // caller= is a return address: which function it lands in follows the compiler's inlining.
  static const std::regex caller(R"(caller=.*$)");  // the last field
  auto name = [&](pid_t pid) {
    if (pid == 0) return std::string("<idle>");
    auto it = names.find(pid);
    return it == names.end() ? std::string("?") : it->second;
  };
  std::vector<std::pair<int, std::string>> out;  // per CPU in order: CPUs run concurrently
  std::map<int, std::uint64_t> first_ts;
  for (const trace_record& r : records) {
    if (r.ts_ns - first_ts.emplace(r.cpu, r.ts_ns).first->second > MAX_SPAN_NS) return {};
    std::string fields;
    auto begin = std::sregex_iterator(r.fields.begin(), r.fields.end(), pid_field);
    std::size_t last = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
      const std::smatch& m = *it;
      std::string who = name(std::stoi(m[2].str()));
      if (who != "<idle>" && !scenario.count(who)) return {};
      fields += r.fields.substr(last, m.position(0) - last) + m[1].str() + "=<" + who + ">";
      last = m.position(0) + m.length(0);
    }
    fields += r.fields.substr(last);
    fields = std::regex_replace(fields, caller, "caller=<code>");
    // The ring of threads outside the CPUs (CPU nr_cpu_ids()), written [-1].
    bool outside = r.cpu >= static_cast<int>(nr_cpu_ids());
    int cpu = outside ? -1 : r.cpu;
    std::string comm = outside ? std::string("(outside)") : r.comm;
    if (!outside && comm != "<idle>" && !scenario.count(comm)) return {};
    out.emplace_back(cpu, fmt::format("[{}] {} {} {}: {}", cpu, comm, r.flags, r.event, fields));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> lines;
  for (auto& [cpu, line] : out) lines.push_back(std::move(line));
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Runs `scenario` (which returns the trace it saw, normalised, or {} when the background got in
// or it ran too slowly) until it gives a clean trace, at most 50 times. A sanitizer build that
// never runs it fast enough skips the comparison; the scenarios still ran under it.
template <class F>
std::optional<std::string> clean_trace(F&& scenario) {
  for (int attempt = 0; attempt < 50; attempt++) {
    std::vector<std::string> lines = scenario();
    if (!lines.empty()) return joined(lines);
  }
  return std::nullopt;
}

#define EXPECT_TRACE(scenario, expected)                                                \
  do {                                                                                  \
    std::optional<std::string> trace = clean_trace(scenario);                           \
    if (!trace && SANITIZED) GTEST_SKIP() << "never ran within 1 ms per CPU under it";  \
    ASSERT_TRUE(trace) << "the scenario never ran without background tasks or a stall"; \
    EXPECT_EQ(*trace, expected);                                                        \
  } while (0)

class trace_paths : public ::testing::Test {
 protected:
  void boot_cpus(unsigned n) {
    boot_params p;
    p.nr_cpus = n;
    ASSERT_EQ(boot(p), 0);
    booted_cpus_ = n;
  }
  void TearDown() override {
    trace_event_enable("all", false);
    trace_clear();
    if (booted_cpus_) {
      test::check_nothing_left(booted_cpus_);
      EXPECT_EQ(shutdown(), 0);
    }
  }
  unsigned booted_cpus_ = 0;
};

void trace_sched_and_stop(bool on) {
  trace_event_enable("sched:*", on);
  trace_event_enable("stop:*", on);
}

// A task on CPU 0 spawns two tasks there, which yield twice each, and joins them. Traced from
// before the spawns until the second one to finish is about to exit. Which runs first and where
// each yield goes follows from START_DEBIT placement (the second child starts 1/6 of the latency
// earlier in vruntime, less than the wakeup granularity), not from timing.
std::vector<std::string> yield_scenario() {
  pid_names names;
  std::mutex m;
  pid_t parent = spawn(
      "parent",
      [&] {
        std::atomic<int> done{0};
        auto body = [&done] {
          for (int i = 0; i < 2; i++) sched_yield();
          if (done.fetch_add(1) == 1) trace_sched_and_stop(false);
        };
        trace_clear();
        trace_sched_and_stop(true);
        pid_t a = spawn("yield-a", body, test::on_cpu(0));
        pid_t b = spawn("yield-b", body, test::on_cpu(0));
        EXPECT_EQ(join(a, nullptr), 0);
        EXPECT_EQ(join(b, nullptr), 0);
        std::lock_guard<std::mutex> g(m);
        names[a] = "yield-a";
        names[b] = "yield-b";
      },
      test::on_cpu(0));
  EXPECT_EQ(join(parent, nullptr), 0);
  names[parent] = "parent";
  return normalised(trace_records(), names_now(names), {"parent", "yield-a", "yield-b"});
}

// A task on CPU 0 spawns a child there and joins it.
std::vector<std::string> spawn_scenario() {
  pid_names names;
  std::mutex m;
  pid_t parent = spawn(
      "parent",
      [&] {
        trace_clear();
        trace_sched_and_stop(true);
        pid_t child = spawn(
            "child", [] {}, test::on_cpu(0));
        EXPECT_EQ(join(child, nullptr), 0);
        trace_sched_and_stop(false);
        std::lock_guard<std::mutex> g(m);
        names[child] = "child";
      },
      test::on_cpu(0));
  EXPECT_EQ(join(parent, nullptr), 0);
  names[parent] = "parent";
  names = names_now(names);
  return normalised(trace_records(), names, {"parent", "child"});
}

// A task spinning on CPU 0 moved to CPU 1 by sched_setaffinity() from a thread outside cpustop,
// CPU 1 idle: cpu_stop_queue, migration/0 preempts the spinner, migration_cpu_stop moves it,
// CPU 1 switches to it.
std::vector<std::string> migrate_scenario() {
  std::atomic<int> where{-1};
  std::atomic<bool> stop{false};
  pid_t spinner = spawn(
      "spinner",
      [&] {
        while (!stop.load()) {
          where = smp_processor_id();
          cond_resched();
        }
      },
      test::on_cpu(0));
  while (where.load() != 0) std::this_thread::yield();
  pid_names names = names_now();
  names[spinner] = "spinner";
  trace_clear();
  trace_sched_and_stop(true);
  EXPECT_EQ(sched_setaffinity(spinner, cpumask::of(1)), 0);
  while (where.load() != 1) std::this_thread::yield();
  // The stopper finishes on CPU 0 after the spinner may already run on CPU 1: the trace ends
  // once migration/0 has switched out (or after 2 s without it, which the comparison shows).
  for (int i = 0; i < 2000; i++) {
    auto r = trace_records();
    if (std::any_of(r.begin(), r.end(), [](const trace_record& t) {
          return t.event == "sched_switch" && t.fields.rfind("prev_comm=migration/0 ", 0) == 0;
        }))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  trace_sched_and_stop(false);
  std::vector<std::string> lines = normalised(trace_records(), names, {"spinner", "migration/0"});
  stop = true;
  EXPECT_EQ(join(spinner, nullptr), 0);
  return lines;
}

TEST_F(trace_paths, a_yield_between_two_tasks) {
  boot_cpus(2);
  EXPECT_TRACE(
      yield_scenario,
      R"([0] parent ..... sched_process_fork: comm=parent pid=<parent> child_comm=yield-a child_pid=<yield-a>
[0] parent d..2. sched_wakeup_new: comm=yield-a pid=<yield-a> prio=120 target_cpu=000
[0] parent ..... sched_process_fork: comm=parent pid=<parent> child_comm=yield-b child_pid=<yield-b>
[0] parent d..2. sched_wakeup_new: comm=yield-b pid=<yield-b> prio=120 target_cpu=000
[0] parent d..2. sched_switch: prev_comm=parent prev_pid=<parent> prev_prio=120 prev_state=D ==> next_comm=yield-b next_pid=<yield-b> next_prio=120
[0] yield-b d..2. sched_switch: prev_comm=yield-b prev_pid=<yield-b> prev_prio=120 prev_state=R ==> next_comm=yield-a next_pid=<yield-a> next_prio=120
[0] yield-a d..2. sched_switch: prev_comm=yield-a prev_pid=<yield-a> prev_prio=120 prev_state=R ==> next_comm=yield-b next_pid=<yield-b> next_prio=120
[0] yield-b d..2. sched_switch: prev_comm=yield-b prev_pid=<yield-b> prev_prio=120 prev_state=R ==> next_comm=yield-a next_pid=<yield-a> next_prio=120
[0] yield-a d..2. sched_switch: prev_comm=yield-a prev_pid=<yield-a> prev_prio=120 prev_state=R ==> next_comm=yield-b next_pid=<yield-b> next_prio=120
[0] yield-b ..... sched_process_exit: comm=yield-b pid=<yield-b> prio=120 group_dead=true
[0] yield-b d..2. sched_switch: prev_comm=yield-b prev_pid=<yield-b> prev_prio=120 prev_state=X ==> next_comm=yield-a next_pid=<yield-a> next_prio=120
)");
}

TEST_F(trace_paths, a_spawn_and_join) {
  boot_cpus(2);
  EXPECT_TRACE(
      spawn_scenario,
      R"([0] parent ..... sched_process_fork: comm=parent pid=<parent> child_comm=child child_pid=<child>
[0] parent d..2. sched_wakeup_new: comm=child pid=<child> prio=120 target_cpu=000
[0] parent d..2. sched_switch: prev_comm=parent prev_pid=<parent> prev_prio=120 prev_state=D ==> next_comm=child next_pid=<child> next_prio=120
[0] child ..... sched_process_exit: comm=child pid=<child> prio=120 group_dead=true
[0] child d..4. sched_waking: comm=parent pid=<parent> prio=120 target_cpu=000
[0] child dN.5. sched_wakeup: comm=parent pid=<parent> prio=120 target_cpu=000
[0] child d..2. sched_switch: prev_comm=child prev_pid=<child> prev_prio=120 prev_state=X ==> next_comm=parent next_pid=<parent> next_prio=120
)");
}

TEST_F(trace_paths, the_migration_of_a_running_task) {
  boot_cpus(2);
  EXPECT_TRACE(
      migrate_scenario,
      R"([-1] (outside) d..3. cpu_stop_queue: cpu=0 fn=cpustop::migration_cpu_stop caller=<code>
[-1] (outside) d..4. sched_waking: comm=migration/0 pid=<migration/0> prio=0 target_cpu=000
[-1] (outside) d..5. sched_wakeup: comm=migration/0 pid=<migration/0> prio=0 target_cpu=000
[0] spinner d..2. sched_switch: prev_comm=spinner prev_pid=<spinner> prev_prio=120 prev_state=R+ ==> next_comm=migration/0 next_pid=<migration/0> next_prio=0
[0] migration/0 ...1. cpu_stop_start: fn=cpustop::migration_cpu_stop
[0] migration/0 d..3. sched_migrate_task: comm=spinner pid=<spinner> prio=120 orig_cpu=0 dest_cpu=1
[0] migration/0 ...1. cpu_stop_finish: fn=cpustop::migration_cpu_stop ret=0
[0] migration/0 d..2. sched_switch: prev_comm=migration/0 prev_pid=<migration/0> prev_prio=0 prev_state=S ==> next_comm=swapper/0 next_pid=<<idle>> next_prio=120
[1] <idle> d..2. sched_switch: prev_comm=swapper/1 prev_pid=<<idle>> prev_prio=120 prev_state=R ==> next_comm=spinner next_pid=<spinner> next_prio=120
)");
}

}  // namespace
}  // namespace cpustop

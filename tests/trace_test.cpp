// Tracepoints: names, enabling, the ftrace text format and the stop-work events; the rings'
// page format and lost events; events of threads outside the CPUs; the format files, the USDT
// probes, trace.dat and JSON as cpustop writes them (the real tools read them in
// trace_tools_test).
#include <elf.h>
#include <pthread.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "arch/arch.h"
#include "test_util.h"
#include "trace/events.h"
#include "trace/trace.h"

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

// The ftrace text's lines of one event.
std::vector<std::string> text_lines(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.find(what) != std::string::npos) out.push_back(l);
  return out;
}

TEST_P(tracing, a_key_word_gates_each_tracepoint) {
  EXPECT_EQ(cpustop_sched_switch_semaphore.load(), 0u) << "nobody listens: one load, not taken";
  ASSERT_EQ(trace_event_enable("sched:sched_switch"), 0);
  EXPECT_EQ(cpustop_sched_switch_semaphore.load(), TRACEPOINT_RING);
  EXPECT_TRUE(trace_sched_switch_enabled());
  EXPECT_FALSE(trace_sched_wakeup_enabled());
  trace_event_enable("all", false);
  EXPECT_EQ(cpustop_sched_switch_semaphore.load(), 0u);
  EXPECT_EQ(trace_event_enable("all"), 0);
  for (const trace_event_call* c : trace_event_list())
    EXPECT_EQ(c->key->load() & TRACEPOINT_RING, TRACEPOINT_RING) << c->name;
}

// The kernel 6.18 format files of this machine's tracefs, byte for byte after the ID line.
TEST_P(tracing, format_files_are_the_kernels) {
  const trace_event_call* sw = nullptr;
  const trace_event_call* mig = nullptr;
  const trace_event_call* hp = nullptr;
  for (const trace_event_call* c : trace_event_list()) {
    if (std::string(c->name) == "sched_switch") sw = c;
    if (std::string(c->name) == "sched_migrate_task") mig = c;
    if (std::string(c->name) == "cpuhp_exit") hp = c;
  }
  ASSERT_TRUE(sw && mig && hp);
  auto after_id = [](const std::string& f) { return f.substr(f.find("format:")); };
  const std::string common =
      "format:\n"
      "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
      "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
      "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
      "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";
  EXPECT_EQ(
      after_id(trace_format_file(sw)),
      common +
          "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
          "\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
          "\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n"
          "\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n"
          "\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n"
          "\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n"
          "\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n\n"
          "print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s "
          "next_pid=%d next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, "
          "(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 "
          "| 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? "
          "__print_flags(REC->prev_state "
          "& ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | "
          "0x00000020 | 0x00000040) + 1) << 1) - 1), \"|\", { 0x00000001, \"S\" }, { 0x00000002, "
          "\"D\" }, { 0x00000004, \"T\" }, { 0x00000008, \"t\" }, { 0x00000010, \"X\" }, { "
          "0x00000020, \"Z\" }, { 0x00000040, \"P\" }, { 0x00000080, \"I\" }) : \"R\", "
          "REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | "
          "0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? \"+\" : \"\", REC->next_comm, "
          "REC->next_pid, REC->next_prio\n");
  EXPECT_EQ(after_id(trace_format_file(mig)),
            common +
                "\tfield:__data_loc char[] comm;\toffset:8;\tsize:4;\tsigned:0;\n"
                "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
                "\tfield:int prio;\toffset:16;\tsize:4;\tsigned:1;\n"
                "\tfield:int orig_cpu;\toffset:20;\tsize:4;\tsigned:1;\n"
                "\tfield:int dest_cpu;\toffset:24;\tsize:4;\tsigned:1;\n\n"
                "print fmt: \"comm=%s pid=%d prio=%d orig_cpu=%d dest_cpu=%d\", "
                "__get_str(comm), REC->pid, REC->prio, REC->orig_cpu, REC->dest_cpu\n");
  EXPECT_EQ(after_id(trace_format_file(hp)),
            common +
                "\tfield:unsigned int cpu;\toffset:8;\tsize:4;\tsigned:0;\n"
                "\tfield:int state;\toffset:12;\tsize:4;\tsigned:1;\n"
                "\tfield:int idx;\toffset:16;\tsize:4;\tsigned:1;\n"
                "\tfield:int ret;\toffset:20;\tsize:4;\tsigned:1;\n\n"
                "print fmt: \" cpu: %04u  state: %3d step: %3d ret: %d\", REC->cpu, REC->state, "
                "REC->idx, REC->ret\n");
}

// Every tracepoint is a USDT probe cpustop:<event> with its key as semaphore and one argument
// per field, as readelf -n shows them.
TEST_P(tracing, every_tracepoint_is_a_usdt_probe_with_its_key_as_semaphore) {
  std::ifstream f("/proc/self/exe", std::ios::binary);
  std::string elf((std::istreambuf_iterator<char>(f)), {});
  ASSERT_GT(elf.size(), sizeof(Elf64_Ehdr));
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(elf.data());
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(elf.data() + eh->e_shoff);
  const char* shstr = elf.data() + sh[eh->e_shstrndx].sh_offset;
  std::map<std::string, std::pair<u64, std::string>> probes;  // name -> semaphore, arguments
  u64 probes_addr = 0;
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    std::string name = shstr + sh[i].sh_name;
    if (name == ".probes") probes_addr = sh[i].sh_addr;
    if (name != ".note.stapsdt") continue;
    for (u64 off = sh[i].sh_offset; off < sh[i].sh_offset + sh[i].sh_size;) {
      const auto* nh = reinterpret_cast<const Elf64_Nhdr*>(elf.data() + off);
      const char* desc = elf.data() + off + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
      u64 sem;
      std::memcpy(&sem, desc + 16, 8);
      const char* provider = desc + 24;
      const char* probe = provider + std::strlen(provider) + 1;
      const char* args = probe + std::strlen(probe) + 1;
      if (std::string(provider) == "cpustop") probes[probe] = {sem, args};
      off += sizeof(*nh) + ((nh->n_namesz + 3) & ~3u) + ((nh->n_descsz + 3) & ~3u);
    }
  }
  ASSERT_NE(probes_addr, 0u) << "no .probes section";
  for (const trace_event_call* c : trace_event_list()) {
    auto it = probes.find(c->name);
    ASSERT_NE(it, probes.end()) << "no USDT probe cpustop:" << c->name;
    EXPECT_GE(it->second.first, probes_addr) << c->name << ": semaphore outside .probes";
    std::size_t nargs = 0;
    std::istringstream in(it->second.second);
    for (std::string a; in >> a;) nargs++;
    EXPECT_EQ(nargs, c->fields.size()) << c->name << ": " << it->second.second;
  }
}

class tracing_small_ring : public tracing {
 protected:
  void customize(boot_params&) override { trace_set_buffer_size_kb(8); }
  void TearDown() override {
    trace_set_buffer_size_kb(1024);
    tracing::TearDown();
  }
};
CPUSTOP_INSTANTIATE(tracing_small_ring);

TEST_P(tracing_small_ring, a_full_ring_overwrites_its_oldest_page_and_counts_the_lost_events) {
  constexpr int N = 2000;  // 16-byte records: 8 KiB hold about 500
  trace_clear();
  ASSERT_EQ(trace_event_enable("stop:cpu_stop_finish"), 0);
  run_task(
      [] {
        for (int i = 0; i < N; i++) trace_cpu_stop_finish(nullptr, i);
      },
      on_cpu(0));
  trace_event_enable("all", false);
  std::vector<trace_cpu_stat> st = trace_stats();
  ASSERT_EQ(st.size(), ncpus() + 1);
  EXPECT_EQ(st[0].written, static_cast<u64>(N));
  EXPECT_GT(st[0].overrun, 0u);
  EXPECT_EQ(st[0].entries + st[0].overrun, st[0].written) << "never silently cut";
  // What is left is the newest, in order, without a gap.
  std::vector<std::string> rets;
  for (const trace_record& r : trace_records())
    if (r.event == "cpu_stop_finish") rets.push_back(r.fields.substr(r.fields.find("ret=") + 4));
  ASSERT_EQ(rets.size(), st[0].entries);
  for (std::size_t i = 0; i < rets.size(); i++)
    EXPECT_EQ(rets[i], std::to_string(N - rets.size() + i));
  std::string lost = "CPU:0 [LOST " + std::to_string(st[0].overrun) + " EVENTS]";
  EXPECT_NE(trace_text().find(lost), std::string::npos) << lost;
  std::string report;
  ASSERT_EQ(trace_dat_report(trace_export(trace_format::dat), &report), 0) << report;
  std::string dropped = "CPU:0 [" + std::to_string(st[0].overrun) + " EVENTS DROPPED]";
  EXPECT_NE(report.find(dropped), std::string::npos) << dropped;
}

TEST_P(tracing_small_ring, a_clear_forgets_and_losses_count_from_it) {
  ASSERT_EQ(trace_event_enable("stop:cpu_stop_finish"), 0);
  auto burst = [](int from, int n) {
    run_task(
        [=] {
          for (int i = from; i < from + n; i++) trace_cpu_stop_finish(nullptr, i);
        },
        on_cpu(0));
  };
  burst(0, 2000);
  trace_clear();
  burst(5000, 10);
  std::vector<trace_cpu_stat> st = trace_stats();
  EXPECT_EQ(st[0].entries, 10u);
  EXPECT_EQ(st[0].overrun, 0u);
  std::vector<std::string> rets;
  for (const trace_record& r : events_named("cpu_stop_finish"))
    rets.push_back(r.fields.substr(r.fields.find("ret=") + 4));
  ASSERT_EQ(rets.size(), 10u);
  for (int i = 0; i < 10; i++)
    EXPECT_EQ(rets[static_cast<std::size_t>(i)], std::to_string(5000 + i));
  burst(6000, 2000);
  trace_event_enable("all", false);
  st = trace_stats();
  EXPECT_EQ(st[0].written, 2010u) << "losses count from the clear, exactly";
  EXPECT_GT(st[0].overrun, 0u);
}

// Every CPU records as fast as it can while snapshots and clears come from outside: each
// snapshot holds whole records, in each CPU's order.
TEST_P(tracing_small_ring, snapshots_while_every_cpu_records_stay_whole) {
  ASSERT_EQ(trace_event_enable("stop:cpu_stop_finish"), 0);
  std::atomic<bool> stop{false};
  std::vector<pid_t> writers;
  for (unsigned c = 0; c < ncpus(); c++)
    writers.push_back(spawn(
        "writer",
        [&stop] {
          for (int i = 0; !stop.load(std::memory_order_relaxed); i++) {
            trace_cpu_stop_finish(nullptr, i);
            if (i % 64 == 0) cond_resched();
          }
        },
        on_cpu(c)));
  for (int round = 0; round < 40; round++) {
    std::map<int, long> last_ret;
    std::map<int, u64> last_ts;
    for (const trace_record& r : trace_records()) {
      ASSERT_EQ(r.event, "cpu_stop_finish") << r.fields;
      ASSERT_EQ(r.fields.rfind("fn=0x0 ret=", 0), 0u) << r.fields;
      long ret = std::stol(r.fields.substr(11));
      if (last_ret.count(r.cpu)) {
        EXPECT_GT(ret, last_ret[r.cpu]) << "cpu " << r.cpu;
        EXPECT_GE(r.ts_ns, last_ts[r.cpu]) << "cpu " << r.cpu;
      }
      last_ret[r.cpu] = ret;
      last_ts[r.cpu] = r.ts_ns;
    }
    if (round % 8 == 7) trace_clear();
  }
  stop = true;
  for (pid_t p : writers) ASSERT_EQ(join(p, nullptr), 0);
  trace_event_enable("all", false);
}

TEST_P(tracing, events_of_threads_outside_the_cpus_carry_the_host_thread) {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  trace_clear();
  ASSERT_EQ(trace_event_enable("sched:*"), 0);
  pid_t pid = spawn("child", [] {});
  ASSERT_GT(pid, 0);
  ASSERT_EQ(join(pid, nullptr), 0);
  trace_event_enable("all", false);
  auto forks = events_named("sched_process_fork");
  ASSERT_FALSE(forks.empty());
  const trace_record& f = forks.back();
  EXPECT_EQ(f.cpu, static_cast<int>(ncpus())) << "the ring after the CPUs'";
  EXPECT_EQ(f.pid, static_cast<pid_t>(gettid()));
  EXPECT_EQ(f.comm, name);
  EXPECT_EQ(f.fields, std::string("comm=") + name + " pid=" + std::to_string(gettid()) +
                          " child_comm=child child_pid=" + std::to_string(pid));
  std::string text = trace_text();
  EXPECT_EQ(text.find("<...>"), std::string::npos);
  EXPECT_EQ(text.find("--1 "), std::string::npos);
  EXPECT_EQ(text.find("[-"), std::string::npos);
  EXPECT_NE(text.find("# CPU " + std::to_string(ncpus()) + ": threads outside"), std::string::npos);
}

TEST_P(tracing, a_long_gap_is_a_time_extend_and_keeps_the_time) {
  trace_clear();
  ASSERT_EQ(trace_event_enable("stop:cpu_stop_finish"), 0);
  trace_cpu_stop_finish(nullptr, 1);
  // By the clock the ring stamps with (the host's clock is another clock).
  std::uint64_t t0 = arch::local_clock();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // > 2^27 ns
  std::uint64_t t1 = arch::local_clock();
  trace_cpu_stop_finish(nullptr, 2);
  trace_event_enable("all", false);
  auto f = events_named("cpu_stop_finish");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_NE(f[0].fields.find("ret=1"), std::string::npos);
  EXPECT_NE(f[1].fields.find("ret=2"), std::string::npos);
  EXPECT_GE(f[1].ts_ns - f[0].ts_ns, t1 - t0);
}

TEST_P(tracing, sched_waking_comes_before_sched_wakeup) {
  trace_clear();
  ASSERT_EQ(trace_event_enable("sched:*"), 0);
  completion done;
  init_completion(&done);
  pid_t waiter = spawn(
      "waiter", [&] { wait_for_completion(&done); }, on_cpu(0));
  ASSERT_TRUE(test::wait_task_state(waiter, "D"));  // blocked, so that complete() wakes it
  run_task([&] { complete(&done); }, on_cpu(ncpus() - 1));
  ASSERT_EQ(join(waiter, nullptr), 0);
  trace_event_enable("all", false);
  std::string tag = "comm=waiter pid=" + std::to_string(waiter) + " ";
  std::vector<std::string> order;
  for (const trace_record& r : trace_records())
    if ((r.event == "sched_waking" || r.event == "sched_wakeup") && r.fields.rfind(tag, 0) == 0)
      order.push_back(r.event);
  ASSERT_GE(order.size(), 2u);
  for (std::size_t i = 0; i + 1 < order.size(); i += 2) {
    EXPECT_EQ(order[i], "sched_waking");
    EXPECT_EQ(order[i + 1], "sched_wakeup");
  }
}

// A running task moved by sched_setaffinity, a CPU taken down and up: the exports of one
// snapshot agree, and the JSON draws what the issue asks.
TEST_P(tracing, exports_show_a_migration_and_hotplug) {
  if (ncpus() < 2) GTEST_SKIP();
  trace_clear();
  ASSERT_EQ(trace_event_enable("all"), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> where{-1};
  pid_t spin = spawn(
      "spinner",
      [&] {
        while (!stop) {
          where = smp_processor_id();
          cond_resched();
        }
      },
      on_cpu(0));
  while (where.load() != 0) std::this_thread::yield();
  ASSERT_EQ(sched_setaffinity(spin, cpumask::of(1)), 0);
  while (where.load() != 1) std::this_thread::yield();
  stop = true;
  ASSERT_EQ(join(spin, nullptr), 0);
  unsigned last = ncpus() - 1;
  ASSERT_EQ(cpu_down(last), 0);
  ASSERT_EQ(cpu_up(last), 0);
  trace_event_enable("all", false);

  trace_snapshot s = trace_take_snapshot();
  std::string text = trace_export_text(s);
  // Perfetto's slices of the stopper work: a B/E pair of tracing_mark_write.
  auto begins = text_lines(text, "tracing_mark_write: B|");
  auto ends = text_lines(text, "tracing_mark_write: E|");
  EXPECT_FALSE(begins.empty());
  EXPECT_EQ(begins.size(), ends.size());
  EXPECT_FALSE(text_lines(text, "|cpustop::migration_cpu_stop").empty());

  // trace.dat read back prints each event's fields as the text does.
  std::string report;
  ASSERT_EQ(trace_dat_report(trace_export_dat(s), &report), 0) << report;
  std::vector<std::string> a, b;
  std::regex field_text(R"(^.*\[\d{3}\] .*?\d+\.\d{6}: (\w+): +(.*)$)");
  for (const auto& l : text_lines(report, ": ")) {
    std::smatch m;
    if (std::regex_match(l, m, field_text)) a.push_back(m[1].str() + " " + m[2].str());
  }
  for (const auto& l : text_lines(text, ": ")) {
    std::smatch m;
    if (l[0] != '#' && std::regex_match(l, m, field_text) && m[1] != "tracing_mark_write")
      b.push_back(m[1].str() + " " + m[2].str());
  }
  EXPECT_EQ(a, b);

  nlohmann::json j = nlohmann::json::parse(trace_export_json(s));
  std::map<int, std::string> tracks;
  std::set<std::string> cpu0_slices, hp_slices;
  std::map<long, int> flow_from, flow_to;
  std::set<std::string> counters;
  for (const auto& e : j["traceEvents"]) {
    std::string ph = e["ph"];
    if (ph == "M" && e["name"] == "thread_name") tracks[e["tid"]] = e["args"]["name"];
    if (ph == "X" && e["tid"] == 0) cpu0_slices.insert(e["name"].get<std::string>());
    if (ph == "X" && e["tid"] == 1000 + static_cast<int>(last))
      hp_slices.insert(e["name"].get<std::string>());
    if (ph == "s") flow_from[e["id"]] = e["tid"];
    if (ph == "f") flow_to[e["id"]] = e["tid"];
    if (ph == "C") counters.insert(e["name"].get<std::string>());
  }
  for (unsigned c = 0; c < ncpus(); c++) {
    EXPECT_EQ(tracks[static_cast<int>(c)], "CPU " + std::to_string(c));
    EXPECT_TRUE(counters.count("runnable CPU " + std::to_string(c))) << c;
  }
  EXPECT_TRUE(cpu0_slices.count("spinner"));
  EXPECT_TRUE(cpu0_slices.count("migration/0"));
  EXPECT_TRUE(cpu0_slices.count("cpustop::migration_cpu_stop")) << "the stopper work, by name";
  EXPECT_TRUE(hp_slices.count("sched:active")) << "hotplug states on the CPU they ran for";
  EXPECT_TRUE(hp_slices.count("cpu:teardown"));
  bool moved = false;
  for (const auto& [id, from] : flow_from) moved |= from == 0 && flow_to[id] == 1;
  EXPECT_TRUE(moved) << "a flow from CPU 0 to CPU 1";
}

}  // namespace
}  // namespace cpustop

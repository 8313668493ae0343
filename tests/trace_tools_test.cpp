// The real tools against what cpustop writes: Debian's trace-cmd (report plain, -N, -l, -F;
// dump) reads the demo's trace.dat, KernelShark 2.2 loads it under xvfb-run, and perf and
// bpftrace count the USDT probes of a scripted run exactly as its own ring does. Skipped, with
// the reason printed, only where the kernel refuses uprobes.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "cpustop/cpustop.h"

namespace {

const std::string bin = CPUSTOP_BIN;

// Runs a shell command; its output (stdout and stderr) and exit status.
std::string sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  int st = pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// One event line of trace-cmd report (plain or -N) or of the ftrace text.
struct event_line {
  std::string comm, pid, cpu, ts, flags, event, fields;
  bool operator==(const event_line&) const = default;
};
std::vector<event_line> parse(const std::string& text, bool ftrace) {
  static const std::regex report(R"(^\s*(.*)-(\d+)\s+\[(\d+)\]\s+(\d+\.\d+): (\w+):\s+(.*)$)");
  static const std::regex text_re(
      R"(^\s*(.*)-(\d+)\s+\[(\d+)\] (\S{5})\s+(\d+\.\d+): (\w+): (.*)$)");
  std::vector<event_line> out;
  for (const std::string& l : lines(text)) {
    std::smatch m;
    if (ftrace && l[0] != '#' && std::regex_match(l, m, text_re)) {
      if (m[6] != "tracing_mark_write")
        out.push_back({trim(m[1]), m[2], m[3], m[5], m[4], m[6], trim(m[7])});
    } else if (!ftrace && std::regex_match(l, m, report)) {
      out.push_back({trim(m[1]), m[2], m[3], m[4], "", m[5], trim(m[6])});
    }
  }
  return out;
}

std::size_t count_of(const std::vector<event_line>& v, const std::string& event) {
  std::size_t n = 0;
  for (const event_line& e : v) n += e.event == event;
  return n;
}

// The demo, once, with its trace in all three formats.
class demo_trace : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/cpustop-trace-XXXXXX";
    dir = mkdtemp(tmpl);
    int st = -1;
    std::string out = sh(bin + " demo --cpus 2 --trace " + dir + "/demo.dat --trace " + dir +
                             "/demo.txt --trace " + dir + "/demo.json",
                         &st);
    ASSERT_EQ(st, 0) << out;
    text = read_file(dir + "/demo.txt");
  }
  static void TearDownTestSuite() { sh("rm -rf " + dir); }
  static std::string report(const std::string& opts, int* st = nullptr) {
    return sh("trace-cmd report " + opts + " " + dir + "/demo.dat", st);
  }
  static inline std::string dir, text;
};

TEST_F(demo_trace, trace_cmd_report_shows_taskset_moving_a_running_task_as_the_kernel_does) {
  int st = -1;
  std::string out = report("", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out.rfind("cpus=3\n", 0), 0u) << "two CPUs and the outside threads' buffer";
  std::vector<event_line> ev = parse(out, false);
  // The move: sched_migrate_task of spin from CPU 0, run by migration/0 on CPU 0.
  std::size_t mig = 0;
  while (mig < ev.size() &&
         !(ev[mig].event == "sched_migrate_task" && ev[mig].fields.rfind("comm=spin ", 0) == 0 &&
           ev[mig].fields.find("orig_cpu=0 dest_cpu=1") != std::string::npos))
    mig++;
  ASSERT_LT(mig, ev.size()) << out;
  EXPECT_EQ(ev[mig].comm, "migration/0");
  EXPECT_EQ(ev[mig].cpu, "000");
  std::string spin = ev[mig].fields.substr(ev[mig].fields.find("pid=") + 4);
  spin = spin.substr(0, spin.find(' '));
  std::string stopper_pid = ev[mig].pid;
  // Before it, on CPU 0: the caller's sched_waking and sched_wakeup of migration/0 with prio 0,
  // then spin switched out, still runnable, to migration/0.
  std::regex switch_out("spin:" + spin + R"( \[120\] R\+? ==> migration/0:)" + stopper_pid +
                        R"( \[0\])");
  std::ptrdiff_t waking = -1, wakeup = -1, out_sw = -1;
  for (std::size_t i = 0; i < mig; i++) {
    const event_line& e = ev[i];
    if (e.event == "sched_waking" &&
        e.fields == "comm=migration/0 pid=" + stopper_pid + " prio=0 target_cpu=000")
      waking = static_cast<std::ptrdiff_t>(i);
    if (e.event == "sched_wakeup" && e.fields == "migration/0:" + stopper_pid + " [0] CPU:000")
      wakeup = static_cast<std::ptrdiff_t>(i);
    if (e.event == "sched_switch" && e.cpu == "000" && std::regex_search(e.fields, switch_out))
      out_sw = static_cast<std::ptrdiff_t>(i);
  }
  ASSERT_GE(waking, 0) << out;
  EXPECT_NE(ev[static_cast<std::size_t>(waking)].comm, "migration/0") << "woken by the caller";
  EXPECT_LT(waking, wakeup);
  EXPECT_LT(wakeup, out_sw);
  ASSERT_GE(out_sw, 0) << out;
  // After it: spin runs on CPU 1.
  bool runs = false;
  for (std::size_t i = mig + 1; i < ev.size() && !runs; i++)
    runs = ev[i].event == "sched_switch" && ev[i].cpu == "001" &&
           ev[i].fields.find("==> spin:" + spin + " [120]") != std::string::npos;
  EXPECT_TRUE(runs) << out;
}

TEST_F(demo_trace, trace_cmd_report_N_prints_every_field_as_the_ftrace_text) {
  int st = -1;
  std::string out = report("-N", &st);
  ASSERT_EQ(st, 0) << out;
  std::vector<event_line> dat = parse(out, false), txt = parse(text, true);
  for (event_line& e : txt) e.flags.clear();
  ASSERT_GT(dat.size(), 100u);
  EXPECT_EQ(dat.size(), txt.size());
  for (std::size_t i = 0; i < std::min(dat.size(), txt.size()); i++)
    ASSERT_EQ(dat[i], txt[i]) << "event " << i << ": " << dat[i].event << ": " << dat[i].fields
                              << "\n  vs " << txt[i].event << ": " << txt[i].fields;
}

TEST_F(demo_trace, event_counts_equal_the_rings) {
  std::vector<event_line> dat = parse(report("-N"), false), txt = parse(text, true);
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(text, m, std::regex(R"(entries-in-buffer/entries-written: (\d+)/(\d+))")));
  EXPECT_EQ(m[1], m[2]) << "nothing lost";
  EXPECT_EQ(dat.size(), std::stoul(m[1]));
  std::map<std::string, std::size_t> a, b;
  for (const event_line& e : dat) a[e.event]++;
  for (const event_line& e : txt) b[e.event]++;
  EXPECT_EQ(a, b);
  for (const char* e :
       {"sched_switch", "sched_waking", "sched_wakeup", "sched_wakeup_new", "sched_migrate_task",
        "sched_process_fork", "sched_process_exit", "cpu_stop_queue", "cpu_stop_start",
        "cpu_stop_finish", "cpuhp_enter", "cpuhp_exit"})
    EXPECT_GT(a[e], 0u) << e;
  // --stat reads the per-CPU statistics saved with the data.
  std::string stat = report("--stat");
  std::size_t read = 0;
  for (const std::string& l : lines(stat))
    if (l.rfind("read events: ", 0) == 0) read += std::stoul(l.substr(13));
  EXPECT_EQ(read, dat.size()) << stat;
}

TEST_F(demo_trace, trace_cmd_report_l_shows_the_latency_flags_of_the_text) {
  int st = -1;
  std::string out = report("-l", &st);
  ASSERT_EQ(st, 0) << out;
  // -l: "comm-pid  cpu flags ts: event: ..."
  std::regex re(R"(^\s*\S+-\d+\s+(\d+)(\S{5})\s+\d+\.\d+: (\w+):.*$)");
  std::vector<std::string> flags;
  for (const std::string& l : lines(out)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) flags.push_back(m[2]);
  }
  std::vector<std::string> want;
  for (const event_line& e : parse(text, true)) want.push_back(e.flags);
  EXPECT_EQ(flags, want);
}

TEST_F(demo_trace, trace_cmd_report_F_filters_by_event_and_field) {
  std::vector<event_line> mig = parse(report("-F sched_migrate_task"), false);
  std::vector<event_line> txt = parse(text, true);
  EXPECT_EQ(mig.size(), count_of(txt, "sched_migrate_task"));
  for (const event_line& e : mig) EXPECT_EQ(e.event, "sched_migrate_task");
  std::vector<event_line> to_stopper =
      parse(report("-F 'sched_switch: next_comm == \"migration/0\"'"), false);
  ASSERT_FALSE(to_stopper.empty());
  for (const event_line& e : to_stopper)
    EXPECT_NE(e.fields.find("==> migration/0:"), std::string::npos) << e.fields;
}

TEST_F(demo_trace, trace_cmd_dump_reads_every_section) {
  int st = -1;
  std::string out = sh("trace-cmd dump --summary " + dir + "/demo.dat", &st);
  EXPECT_EQ(st, 0) << out;
  for (const char* s :
       {"6\t[Version]", "[Header page,", "[Events format, 5 systems]", "[Saved command lines,",
        "3 [CPUs with tracing data]", "[Flyrecord tracing data]"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
  std::string syms = sh("trace-cmd dump --kallsyms " + dir + "/demo.dat");
  EXPECT_NE(syms.find(" t cpustop::migration_cpu_stop\n"), std::string::npos) << syms;
  std::string cmds = sh("trace-cmd dump --cmd-lines " + dir + "/demo.dat");
  EXPECT_NE(cmds.find(" spin\n"), std::string::npos) << cmds;
  EXPECT_NE(cmds.find(" migration/0\n"), std::string::npos) << cmds;
}

TEST_F(demo_trace, the_ftrace_text_names_every_task_and_cpu) {
  EXPECT_EQ(text.rfind("# tracer: nop\n", 0), 0u);
  EXPECT_EQ(text.find("<...>"), std::string::npos);
  EXPECT_FALSE(std::regex_search(text, std::regex(R"(-\-\d)"))) << "a negative pid";
  EXPECT_EQ(text.find("[-"), std::string::npos) << "a negative CPU";
  EXPECT_NE(text.find("# CPU 2: threads outside the logical CPUs"), std::string::npos);
  EXPECT_NE(text.find("tracing_mark_write: B|"), std::string::npos);
}

TEST_F(demo_trace, cpustop_trace_report_reads_its_own_file) {
  int st = -1;
  std::string out = sh(bin + " shell --cpus 1 -c 'trace report " + dir + "/demo.dat'", &st);
  ASSERT_EQ(st, 0) << out;
  std::vector<event_line> ours = parse(out, false), txt = parse(text, true);
  for (event_line& e : txt) e.flags.clear();
  EXPECT_EQ(ours, txt);
}

// The shell's trace record, with a command and until trace stop, read by the real trace-cmd;
// a bad event name fails and records nothing.
TEST_F(demo_trace, shell_trace_record_writes_what_trace_cmd_reads) {
  std::string pid = trim(lines(sh(bin + " shell --cpus 2 -c 'spawn spin -c 0'")).at(0));
  int st = -1;
  std::string out = sh(
      bin + " shell --cpus 2 -c 'spawn spin -c 0; sleep 50; trace record -e " +
          "sched_migrate_task -o " + dir + "/mig.dat taskset -p -c 1 " + pid +
          "; trace record -e sched:* -o " + dir + "/sched.json; sleep 20; taskset -p -c 0 " + pid +
          "; trace stop; trace stop; trace record -e bogus -o " + dir + "/none.dat sleep 1'",
      &st);
  EXPECT_EQ(st, 1) << out;
  EXPECT_NE(out.find("trace stop: not recording"), std::string::npos) << out;
  EXPECT_NE(out.find("trace record: unknown event: bogus"), std::string::npos) << out;
  struct stat none;
  EXPECT_NE(stat((dir + "/none.dat").c_str(), &none), 0);
  std::vector<event_line> mig = parse(sh("trace-cmd report " + dir + "/mig.dat"), false);
  ASSERT_FALSE(mig.empty()) << out;
  for (const event_line& e : mig) EXPECT_EQ(e.event, "sched_migrate_task");
  EXPECT_EQ(mig[0].comm, "migration/0");
  EXPECT_EQ(mig[0].fields, "comm=spin pid=" + pid + " prio=120 orig_cpu=0 dest_cpu=1");
  std::string json = read_file(dir + "/sched.json");
  EXPECT_EQ(json.rfind("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", 0), 0u) << json;
  // The second taskset switched spin out for migration/1 while recording: at least that slice.
  EXPECT_NE(json.find("\"ph\":\"X\""), std::string::npos) << "task slices";
}

// KernelShark 2.2 under a virtual X server: it must load the file and keep running. With
// CPUSTOP_KERNELSHARK_XWD set, the screen is left there (an X window dump) for a screenshot.
TEST_F(demo_trace, kernelshark_loads_the_trace) {
  std::string cache = dir + "/ks", fb = dir + "/fb";
  mkdir(cache.c_str(), 0700);
  mkdir(fb.c_str(), 0700);
  // Skip the "running with Root privileges" dialog that would sit in front of the window.
  std::ofstream(cache + "/setting.ini") << "[General]\nnoRootWarn=true\n";
  std::string log = dir + "/kernelshark.log";
  pid_t child = fork();
  if (child == 0) {
    setsid();
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("KS_USER_CACHE_DIR", cache.c_str(), 1);
    std::string server = "-screen 0 1600x1000x24 -fbdir " + fb;
    std::string file = dir + "/demo.dat";
    execlp("xvfb-run", "xvfb-run", "-a", "-s", server.c_str(), "kernelshark", file.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  bool loaded = false;
  for (int i = 0; i < 300 && !loaded; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    loaded = read_file(log).find("Loading ") != std::string::npos;
  }
  std::this_thread::sleep_for(std::chrono::seconds(4));  // drawing the plots
  int status = 0;
  bool alive = waitpid(child, &status, WNOHANG) == 0;
  if (const char* keep = std::getenv("CPUSTOP_KERNELSHARK_XWD"))
    sh("cp " + fb + "/Xvfb_screen0 " + keep);
  kill(-child, SIGTERM);
  waitpid(child, &status, 0);
  std::string out = read_file(log);
  EXPECT_TRUE(loaded) << out;
  EXPECT_TRUE(alive) << "KernelShark exited:\n" << out;
  for (const std::string& l : lines(out)) {
    // kvm_combo draws guest-host traces: it declines every other file.
    if (l.find("kvm_combo") != std::string::npos) continue;
    for (const char* bad : {"rror", "ailed", "annot", "egmentation", "bort", "nable to"})
      EXPECT_EQ(l.find(bad), std::string::npos) << l;
  }
}

// An overflowed ring, read by the real trace-cmd: the lost events are reported, never hidden.
TEST(trace_tools, trace_cmd_reports_the_events_a_full_ring_lost) {
  using namespace cpustop;
  trace_set_buffer_size_kb(8);
  boot_params p;
  p.nr_cpus = 1;
  ASSERT_EQ(boot(p), 0);
  trace_event_enable("stop:cpu_stop_finish");
  pid_t pid = spawn("filler", [] {
    for (int i = 0; i < 2000; i++) stop_one_cpu(0, [] { return 0; });
  });
  ASSERT_GT(pid, 0);
  ASSERT_EQ(join(pid, nullptr), 0);
  trace_event_enable("all", false);
  ASSERT_EQ(shutdown(), 0);
  trace_set_buffer_size_kb(1024);
  std::vector<trace_cpu_stat> st = trace_stats();
  ASSERT_GT(st[0].overrun, 0u);
  std::string file = "/tmp/cpustop-lost-" + std::to_string(::getpid()) + ".dat";
  std::string dat = trace_export(trace_format::dat);
  std::ofstream(file, std::ios::binary).write(dat.data(), static_cast<std::streamsize>(dat.size()));
  int status = -1;
  std::string out = sh("trace-cmd report " + file, &status);
  unlink(file.c_str());
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("CPU:0 [" + std::to_string(st[0].overrun) + " EVENTS DROPPED]"),
            std::string::npos)
      << out.substr(0, 2000);
  EXPECT_EQ(parse(out, false).size(), st[0].entries);
}

// ---- USDT: perf and bpftrace on a scripted run --------------------------------------------------

constexpr int kMoves = 4;

// The reason the kernel refuses uprobes, or "" when it takes them.
std::string uprobes_refused() {
  struct stat s;
  if (stat("/sys/bus/event_source/devices/uprobe", &s) != 0)
    return "this kernel has no uprobe PMU (CONFIG_UPROBES off)";
  return "";
}

// The pid the first spawn of a shell gets: the same in every run of one boot configuration.
std::string spin_pid() {
  return trim(lines(sh(bin + " shell --cpus 2 -c 'spawn spin -c 0'")).at(0));
}

// A shell run that moves a running task (pid) kMoves times with taskset, tracing into dat.
std::string scripted_run(const std::string& dat, const std::string& pid) {
  std::string script = "spawn spin -c 0; sleep 30";
  for (int i = 0; i < kMoves; i++)
    script += "; taskset -p -c " + std::to_string((i + 1) % 2) + " " + pid + "; sleep 20";
  script += "; kill " + pid;
  return bin + " shell --cpus 2 --trace " + dat + " -c '" + script + "'";
}

// The sched_migrate_task events of the run's own ring, as trace-cmd reads them.
std::size_t ring_migrations(const std::string& dat) {
  return count_of(parse(sh("trace-cmd report -F sched_migrate_task " + dat), false),
                  "sched_migrate_task");
}

TEST(trace_tools, perf_counts_every_sched_migrate_task_of_the_usdt_probe) {
  if (std::string why = uprobes_refused(); !why.empty()) GTEST_SKIP() << why;
  // perf probe names the event sdt_cpustop:sched_migrate_task machine-wide: one run at a time.
  int lock = open("/tmp/cpustop-perf-probe.lock", O_RDWR | O_CREAT, 0600);
  ASSERT_GE(lock, 0);
  flock(lock, LOCK_EX);
  std::string dir = "/tmp/cpustop-perf-" + std::to_string(::getpid());
  sh("rm -rf " + dir + "; mkdir -p " + dir);
  int st = -1;
  std::string out = sh("perf buildid-cache --add " + bin, &st);
  ASSERT_EQ(st, 0) << out;
  sh("perf probe -d 'sdt_cpustop:*'");
  out = sh("perf probe -x " + bin + " sdt_cpustop:sched_migrate_task", &st);
  if (st != 0 && out.find("ermission") != std::string::npos) {
    flock(lock, LOCK_UN);
    GTEST_SKIP() << "the kernel refuses the uprobe: " << out;
  }
  ASSERT_EQ(st, 0) << out;
  out = sh("perf record -q -e sdt_cpustop:sched_migrate_task -o " + dir + "/perf.data -- " +
               scripted_run(dir + "/run.dat", spin_pid()),
           &st);
  EXPECT_EQ(st, 0) << out;
  std::string script = sh("perf script -i " + dir + "/perf.data");
  std::size_t hits = 0;
  for (const std::string& l : lines(script))
    hits += l.find("sdt_cpustop:sched_migrate_task:") != std::string::npos;
  sh("perf probe -d 'sdt_cpustop:*'");
  flock(lock, LOCK_UN);
  close(lock);
  std::size_t ring = ring_migrations(dir + "/run.dat");
  sh("rm -rf " + dir);
  EXPECT_GE(ring, static_cast<std::size_t>(kMoves));
  EXPECT_EQ(hits, ring) << script;
}

TEST(trace_tools, bpftrace_counts_every_sched_migrate_task_of_the_usdt_probe) {
  if (std::string why = uprobes_refused(); !why.empty()) GTEST_SKIP() << why;
  std::string dir = "/tmp/cpustop-bpftrace-" + std::to_string(::getpid());
  sh("rm -rf " + dir + "; mkdir -p " + dir);
  std::string log = dir + "/bpftrace.log";
  std::string pid = spin_pid();  // before bpftrace counts every run of the program
  std::string prog = "usdt:" + bin + ":cpustop:sched_migrate_task { @migrations = count(); }";
  pid_t child = fork();
  if (child == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execlp("bpftrace", "bpftrace", "-e", prog.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  bool attached = false;
  int status = 0;
  for (int i = 0; i < 600 && !attached; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    attached = read_file(log).find("Attaching 1 probe") != std::string::npos;
    if (waitpid(child, &status, WNOHANG) == child) break;
  }
  if (!attached) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    std::string why = read_file(log);
    sh("rm -rf " + dir);
    if (why.find("ermission") != std::string::npos || why.find("uprobe") != std::string::npos)
      GTEST_SKIP() << "the kernel refuses the uprobe: " << why;
    FAIL() << "bpftrace did not attach:\n" << why;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int st = -1;
  std::string out = sh(scripted_run(dir + "/run.dat", pid), &st);
  EXPECT_EQ(st, 0) << out;
  kill(child, SIGINT);
  waitpid(child, &status, 0);
  std::string result = read_file(log);
  std::size_t ring = ring_migrations(dir + "/run.dat");
  sh("rm -rf " + dir);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(result, m, std::regex(R"(@migrations: (\d+))"))) << result;
  EXPECT_GE(ring, static_cast<std::size_t>(kMoves));
  EXPECT_EQ(std::stoul(m[1]), ring) << result;
}

}  // namespace

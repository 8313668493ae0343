// `cpustop demo`: the stopper's story, run live. Boot, look at the per-CPU threads, start a
// workload, move a running task with taskset and watch migration/N do it, stop the machine, take
// a CPU offline and back, read the accounting, and diagnose what kept the stoppers busy.
#include <fmt/core.h>
#include <cstdint>

#include <cstring>
#include <iostream>
#include <sstream>
#include <thread>

#include "cpustop/cpustop.h"
#include "shell.h"
#include "trace_cmd.h"

namespace cpustop::tool {

namespace {

void step(int n, const std::string& title) {
  fmt::print("\n=== {}. {}\n", n, title);
}

// The shell command, echoed as a prompt.
int sh_run(shell& sh, const std::string& cmd) {
  fmt::print("# {}\n", cmd);
  std::fflush(stdout);
  return sh.run_line(cmd);
}

// Spawns through the shell and returns the new pid (the shell prints it).
pid_t sh_spawn(const std::string& args, shell& sh) {
  fmt::print("# spawn {}\n", args);
  std::fflush(stdout);
  std::ostringstream captured;
  std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
  int status = sh.run_line("spawn " + args);
  std::cout.rdbuf(old);
  std::cout << captured.str();
  return status == 0 ? static_cast<pid_t>(std::stol(captured.str())) : -1;
}

// The latest trace timestamp: steps print only what happened after their mark.
std::uint64_t trace_mark() {
  auto r = trace_records();
  return r.empty() ? 0 : r.back().ts_ns;
}

// Prints, in time order, the events named that contain any of the filters (all if none).
void print_trace(std::uint64_t since, const std::vector<std::string>& events,
                 const std::vector<std::string>& filters = {}) {
  for (const trace_record& r : trace_records()) {
    if (r.ts_ns <= since) continue;
    bool want = false, match = filters.empty();
    for (const auto& e : events) want |= r.event == e;
    for (const auto& f : filters) match |= r.fields.find(f) != std::string::npos;
    if (!want || !match) continue;
    fmt::print("{:>16}-{:<7} [{:03}] {} {:5}.{:06}: {}: {}\n", r.comm, r.pid, r.cpu, r.flags,
               r.ts_ns / 1000000000, (r.ts_ns % 1000000000) / 1000, r.event, r.fields);
  }
}

std::string field(const std::string& stat_line, int n) {
  // Fields after "(comm)" start at 3.
  std::size_t close = stat_line.rfind(')');
  std::istringstream in(stat_line.substr(close + 2));
  std::string f;
  for (int i = 3; i <= n && in >> f; i++) {
  }
  return f;
}

void diagnose(unsigned ncpus) {
  sched_stats st = get_sched_stats();
  unsigned long works = 0;
  std::uint64_t runtime = 0;
  for (unsigned c = 0; c < ncpus; c++) {
    cpu_stat cs;
    if (cpu_get_stat(c, &cs)) continue;
    works += cs.stop_works;
    runtime += cs.stopper_runtime;
    fmt::print("  migration/{:<3} {:6} works, {:8.3f} ms on CPU\n", c, cs.stop_works,
               static_cast<double>(cs.stopper_runtime) / 1e6);
  }
  fmt::print("  in all {} stopper works, {:.3f} ms\n", works, static_cast<double>(runtime) / 1e6);
  fmt::print("\nWhat kept the stoppers busy (the seed's list of causes):\n");
  fmt::print(
      "  uneven load:            {:4} queued tasks pulled by the balancer, {} running tasks "
      "pushed by migration/N\n",
      static_cast<unsigned long long>(st.balance),
      static_cast<unsigned long long>(st.active_balance));
  fmt::print("  affinity vs balancer:   {:4} moves by sched_setaffinity (taskset)\n",
             static_cast<unsigned long long>(st.affinity));
  fmt::print("  frequent CPU hotplug:   {:4} tasks moved off dying CPUs in {} offline operations\n",
             static_cast<unsigned long long>(st.hotplug),
             static_cast<unsigned long long>(st.cpus_offlined));
  fmt::print("  NUMA placement:         {:4} migrations crossed nodes\n",
             static_cast<unsigned long long>(st.cross_node));
  std::vector<std::string> verdict;
  if (st.active_balance > st.balance && st.active_balance > 2)
    verdict.push_back(
        "the balancer mostly had to push running tasks: load is uneven and the "
        "movable tasks are the ones running");
  if (st.affinity > 0 && st.balance + st.active_balance > 0)
    verdict.push_back(
        "affinity changes and the balancer both moved tasks: check that masks do not "
        "fight the balancer");
  if (st.cpus_offlined > 0)
    verdict.push_back("CPU hotplug moved tasks; frequent hotplug costs stopper time");
  if (st.cross_node > 0)
    verdict.push_back("migrations crossed NUMA nodes: placement could keep tasks local");
  if (verdict.empty()) verdict.push_back("nothing stands out");
  fmt::print("\nDiagnosis:\n");
  for (const auto& v : verdict) fmt::print("  - {}\n", v);
}

}  // namespace

int cmd_demo(const boot_options& opts) {
  boot_params params = opts.params();
  fmt::print(
      "cpustop demo: the Linux kernel's migration/N threads and stop_machine, in user space\n");
  trace_event_enable("sched:*");
  trace_event_enable("stop:*");
  trace_event_enable("cpuhp:*");
  trace_file_start(opts.trace_files);
  if (int err = boot(params)) {
    fmt::print(stderr, "cpustop: boot failed: {}\n", std::strerror(-err));
    return 1;
  }
  unsigned n = nr_cpu_ids();
  int status = 0;
  {
    shell sh(std::cout, std::cerr);
    step(1,
         "Boot: start_kernel -> rest_init -> kernel_init -> do_pre_smp_initcalls (cpu_stop_init) "
         "-> smp_init -> do_initcalls");
    fmt::print("{}", dmesg());

    step(2, "One stopper per CPU: [migration/N] in the stop class, shown as FIFO 99 (FF 99)");
    status |= sh_run(sh, "ps");

    step(3, "A workload");
    // spin has CPU 0 to itself, so that it is running (not queued) when taskset moves it.
    pid_t spin = sh_spawn("spin -c 0", sh);
    std::string rest = n > 2 ? fmt::format("1-{}", n - 1) : "1";
    std::string others = n > 1 ? " -c " + rest : "";
    for (unsigned c = 0; c < n; c++)
      sh_spawn(fmt::format("worker{} --nice {}{}", c, c % 5, others), sh);
    sh_spawn(fmt::format("rtworker --policy rr --prio 10{}", others), sh);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    status |= sh_run(sh, "ps");

    step(4, "taskset moves a running task: sched_setaffinity -> migration_cpu_stop on its CPU");
    std::uint64_t mark = trace_mark();
    if (n > 1) {
      status |= sh_run(sh, fmt::format("taskset -p -c {} {}", rest, spin));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      fmt::print(
          "\nThe trace (ftrace text): the stop work queued on CPU 0, run by migration/0, "
          "which moves the task:\n");
      print_trace(mark,
                  {"cpu_stop_queue", "cpu_stop_start", "cpu_stop_finish", "sched_migrate_task"},
                  {"migration_cpu_stop", "comm=spin "});
      status |= sh_run(sh, fmt::format("taskset -cp {}", spin));
    } else {
      fmt::print("(one CPU: nothing to move to; try --cpus 4)\n");
    }

    step(5, "stop_machine: every CPU stops, the function runs once, nothing else runs meanwhile");
    status |= sh_run(sh, "stop_machine");

    if (n > 1) {
      unsigned victim = n - 1;
      step(6, fmt::format("CPU hotplug: cpu{} goes offline (take_cpu_down runs in stop_machine) "
                          "and comes back",
                          victim));
      mark = trace_mark();
      status |= sh_run(sh, fmt::format("echo 0 > /sys/devices/system/cpu/cpu{}/online", victim));
      fmt::print("\nThe hotplug states on the way down:\n");
      print_trace(mark, {"cpuhp_enter"}, {fmt::format("cpu: {:04}", victim)});
      fmt::print("\nTasks moved off cpu{}:\n", victim);
      print_trace(mark, {"sched_migrate_task"}, {fmt::format("orig_cpu={} ", victim)});
      std::istringstream log(dmesg());
      for (std::string line; std::getline(log, line);)
        if (line.find("no longer affine") != std::string::npos) fmt::print("{}\n", line);
      fmt::print("\nThe per-CPU threads of cpu{} are parked (P):\n", victim);
      std::istringstream ps(ps_table());
      std::string kthread = fmt::format("/{}]", victim),
                  kworker = fmt::format("kworker/{}:", victim);
      for (std::string line; std::getline(ps, line);)
        if (line.find(kthread) != std::string::npos || line.find(kworker) != std::string::npos)
          fmt::print("{}\n", line);
      status |= sh_run(sh, fmt::format("echo 1 > /sys/devices/system/cpu/cpu{}/online", victim));
      status |= sh_run(sh, fmt::format("cat /sys/devices/system/cpu/cpu{}/online", victim));
    }

    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    step(7,
         "Accounting: /proc/<pid>/stat fields 14 and 15 (utime, stime in clock ticks) and "
         "/proc/stat");
    for (const task_info& t : task_list()) {
      if (t.comm != "spin" && t.comm != "migration/0" && t.comm != "rtworker") continue;
      std::string stat = proc_pid_stat(t.pid);
      fmt::print("{:<14} pid {:<4} utime {:>4} stime {:>4}   ({:.1f} ms on CPU, {} migrations)\n",
                 t.comm, t.pid, field(stat, 14), field(stat, 15),
                 static_cast<double>(t.sum_exec_runtime) / 1e6, t.nr_migrations);
    }
    status |= sh_run(sh, "cat /proc/stat");

    step(8, "Stopper load and its causes");
    diagnose(n);
    sh.kill_all();
  }
  trace_event_enable("all", false);
  if (trace_file_write(opts.trace_files, std::cerr)) status = 1;
  for (const std::string& f : opts.trace_files) fmt::print("\nThe whole trace is in {}\n", f);
  if (int err = shutdown()) {
    fmt::print(stderr, "cpustop: shutdown failed: {}\n", std::strerror(-err));
    return 1;
  }
  return status ? 1 : 0;
}

}  // namespace cpustop::tool

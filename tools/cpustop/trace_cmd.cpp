// `trace`: ftrace-style control of the running machine's tracepoints, and recording the way the
// seeds do with `trace-cmd record -e sched_migrate_task sleep 5; trace-cmd report`.
#include "trace_cmd.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "cpustop/trace.h"

namespace cpustop::tool {

namespace {

// A `trace record` without a command: what `trace stop` finishes.
struct recording {
  bool active = false;
  std::string file;
  std::vector<std::string> was_enabled;
};
recording rec;

std::vector<std::string> enabled_events() {
  std::vector<std::string> on;
  for (const std::string& e : trace_event_names())
    if (trace_event_enabled(e)) on.push_back(e);
  return on;
}

void restore_events(const std::vector<std::string>& on) {
  trace_event_enable("all", false);
  for (const std::string& e : on) trace_event_enable(e);
}

int write_file(const std::string& path, const std::string& data, std::ostream& err) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) {
    err << "trace: cannot write " << path << ": " << std::strerror(errno ? errno : EIO) << "\n";
    return 1;
  }
  return 0;
}

int finish_record(const std::string& file, const std::vector<std::string>& was, std::ostream& out,
                  std::ostream& err) {
  trace_event_enable("all", false);
  std::uint64_t events = 0, lost = 0;
  std::vector<trace_cpu_stat> stats = trace_stats();
  for (const trace_cpu_stat& s : stats) {
    events += s.entries;
    lost += s.overrun;
  }
  int status = write_file(file, trace_export(trace_format_of(file)), err);
  restore_events(was);
  if (status == 0)
    out << file << ": " << events << " events from " << stats.size() << " CPU buffers"
        << (lost ? ", " + std::to_string(lost) + " lost to full buffers" : std::string()) << "\n";
  return status;
}

int record(const std::vector<std::string>& a, std::ostream& out, std::ostream& err,
           const std::function<int(const std::vector<std::string>&)>& run) {
  std::vector<std::string> events, cmd;
  std::string file = "trace.dat";
  for (std::size_t i = 2; i < a.size(); i++) {
    if (!cmd.empty() || (a[i] != "-e" && a[i] != "-o")) {
      cmd.push_back(a[i]);
      continue;
    }
    if (i + 1 >= a.size()) {
      err << "trace record: option requires an argument -- '" << a[i].substr(1) << "'\n";
      return 1;
    }
    if (a[i] == "-e")
      events.push_back(a[++i]);
    else
      file = a[++i];
  }
  if (rec.active) {
    err << "trace record: already recording to " << rec.file << " (trace stop ends it)\n";
    return 1;
  }
  std::vector<std::string> was = enabled_events();
  trace_event_enable("all", false);
  if (events.empty()) events.push_back("all");
  for (const std::string& e : events) {
    if (trace_event_enable(e) != 0) {
      restore_events(was);
      err << "trace record: unknown event: " << e << "\n";
      return 1;
    }
  }
  trace_clear();
  if (cmd.empty()) {
    rec = {true, file, was};
    out << "trace record: recording to " << file << "; `trace stop` ends it\n";
    return 0;
  }
  int status = run(cmd);
  return finish_record(file, was, out, err) | status;
}

int report(const std::vector<std::string>& a, std::ostream& out, std::ostream& err) {
  std::string file = a.size() > 2 ? a[2] : "trace.dat";
  std::ifstream f(file, std::ios::binary);
  if (!f) {
    err << "trace report: cannot open " << file << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  std::stringstream data;
  data << f.rdbuf();
  if (trace_format_of(file) != trace_format::dat) {
    out << data.str();
    return 0;
  }
  std::string text;
  if (trace_dat_report(data.str(), &text) != 0) {
    err << "trace report: " << file << ": " << text;
    return 1;
  }
  out << text;
  return 0;
}

int stat(std::ostream& out) {
  std::vector<trace_cpu_stat> stats = trace_stats();
  for (const trace_cpu_stat& s : stats)
    out << "CPU" << s.cpu << (s.cpu + 1 == stats.size() ? " (outside the logical CPUs)" : "")
        << ": entries " << s.entries << " overrun " << s.overrun << " written " << s.written
        << "\n";
  std::map<std::string, std::size_t> counts;
  for (const trace_record& r : trace_records()) counts[r.event]++;
  for (const auto& [event, n] : counts) out << event << ": " << n << "\n";
  return 0;
}

}  // namespace

int trace_command(const std::vector<std::string>& a, std::ostream& out, std::ostream& err,
                  const std::function<int(const std::vector<std::string>&)>& run) {
  std::string sub = a.size() > 1 ? a[1] : "show";
  if (sub == "on") {
    std::string ev = a.size() > 2 ? a[2] : "all";
    if (trace_event_enable(ev) != 0) {
      err << "trace: unknown event: " << ev << "\n";
      return 1;
    }
    return 0;
  }
  if (sub == "off") return trace_event_enable("all", false), 0;
  if (sub == "clear") return trace_clear(), 0;
  if (sub == "show") return out << trace_text(), 0;
  if (sub == "list") {
    for (const std::string& e : trace_event_names()) out << e << "\n";
    return 0;
  }
  if (sub == "stat") return stat(out);
  if (sub == "record") return record(a, out, err, run);
  if (sub == "stop") {
    if (!rec.active) {
      err << "trace stop: not recording\n";
      return 1;
    }
    rec.active = false;
    return finish_record(rec.file, rec.was_enabled, out, err);
  }
  if (sub == "report") return report(a, out, err);
  err << "trace: unknown subcommand: " << sub << "\n";
  return 1;
}

void trace_file_start(const std::vector<std::string>& paths) {
  if (!paths.empty()) trace_event_enable("all");
}

int trace_file_write(const std::vector<std::string>& paths, std::ostream& err) {
  int status = 0;
  for (const std::string& p : paths) status |= write_file(p, trace_export(trace_format_of(p)), err);
  return status;
}

}  // namespace cpustop::tool

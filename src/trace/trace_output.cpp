// ftrace text (the kernel's tracefs `trace` file, which Perfetto and trace-cmd users read) and
// the per-event format files.
#include <cstdio>
#include <cstring>

#include "trace/trace.h"

namespace cpustop {

namespace {

const char* const common_fields =
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

std::string line_prefix(const trace_snapshot& s, const trace_event_ref& r) {
  u64 usecs = (r.ts + 500) / 1000;  // rounded, as ftrace's ns2usecs()
  char buf[128];
  std::snprintf(buf, sizeof(buf),
                "%16s-%-7d [%03u] %s %5llu.%06llu: ", trace_comm_of(s, r.ent->pid).c_str(),
                r.ent->pid, r.cpu, trace_lat_flags(r.ent).c_str(),
                static_cast<unsigned long long>(usecs / 1000000),
                static_cast<unsigned long long>(usecs % 1000000));
  return buf;
}

}  // namespace

std::string trace_format_file(const trace_event_call* call) {
  std::string out = std::string("name: ") + call->name + "\nID: " + std::to_string(call->id) +
                    "\nformat:\n" + common_fields;
  for (const trace_event_field& f : call->fields) {
    std::string decl = f.kind == trace_field_kind::array
                           ? std::string(f.type) + " " + f.name + "[" + std::to_string(f.size) + "]"
                           : std::string(f.type) + " " + f.name;
    out += "\tfield:" + decl + ";\toffset:" + std::to_string(f.offset) +
           ";\tsize:" + std::to_string(f.size) + ";\tsigned:" + (f.is_signed ? "1" : "0") + ";\n";
  }
  out += std::string("\nprint fmt: ") + call->print_fmt + "\n";
  return out;
}

std::string trace_export_text(const trace_snapshot& s) {
  u64 held = 0, written = 0;
  for (const trace_cpu_pages& c : s.cpus) {
    held += c.stats.entries;
    written += c.stats.written;
  }
  char head[512];
  std::snprintf(head, sizeof(head),
                "# tracer: nop\n"
                "#\n"
                "# entries-in-buffer/entries-written: %llu/%llu   #P:%u\n"
                "# CPU %u: threads outside the logical CPUs (TASK-PID: the host thread's name "
                "and id)\n"
                "#\n",
                static_cast<unsigned long long>(held), static_cast<unsigned long long>(written),
                s.nr_cpus + 1, s.nr_cpus);
  std::string out = head;
  out +=
      "#                                _-----=> irqs-off/BH-disabled\n"
      "#                               / _----=> need-resched\n"
      "#                              | / _---=> hardirq/softirq\n"
      "#                              || / _--=> preempt-depth\n"
      "#                              ||| / _-=> migrate-disable\n"
      "#                              |||| /     delay\n"
      "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
      "#              | |         |   |||||     |         |\n";
  for (const trace_event_ref& r : trace_snapshot_events(s)) {
    if (r.lost == ~0ull)
      out += "CPU:" + std::to_string(r.cpu) + " [LOST EVENTS]\n";
    else if (r.lost)
      out += "CPU:" + std::to_string(r.cpu) + " [LOST " + std::to_string(r.lost) + " EVENTS]\n";
    std::string prefix = line_prefix(s, r);
    out += prefix + (r.call ? r.call->name : "unknown") + ": " + trace_event_output(r) + "\n";
    // Perfetto draws tracing_mark_write begin/end pairs as slices of the thread.
    if (r.call && r.call->json.text_marker) {
      if (r.call->json.kind == trace_json_kind::begin) {
        const trace_event_field* f = trace_find_field(r.call, r.call->json.name_field);
        out += prefix + "tracing_mark_write: B|" + std::to_string(r.ent->pid) + "|" +
               (f ? trace_field_text(*f, r.ent) : r.call->name) + "\n";
      } else if (r.call->json.kind == trace_json_kind::end) {
        out += prefix + "tracing_mark_write: E|" + std::to_string(r.ent->pid) + "\n";
      }
    }
  }
  return out;
}

}  // namespace cpustop

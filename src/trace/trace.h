// The tracing core inside src/trace: the rings of the booted machine, and what the exporters read
// of them (a snapshot of every ring's pages and the names of the pids they mention).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trace/ring_buffer.h"
#include "trace/trace_event.h"

namespace cpustop {

// At boot: (re)allocate the rings for nr CPUs, plus one for threads outside the logical CPUs.
void trace_boot_init(unsigned nr_cpus);
// At shutdown: the rings stay readable until the next boot.
void trace_boot_exit();

struct trace_array {
  unsigned nr_cpus = 0;
  std::vector<std::unique_ptr<ring_buffer_per_cpu>> rings;  // nr_cpus + 1
  // Per ring, under its lock: the pid whose comm was saved last, so that a run of one task's
  // events saves it once.
  std::unique_ptr<int[]> cmdline_pid;
};
extern std::atomic<trace_array*> global_trace;

// The kernel's saved_cmdlines: the comm a pid had when it last recorded an event.
void trace_save_cmdline(int pid, const char* comm);

struct trace_cpu_pages {
  std::vector<buffer_data_page> pages;
  ring_buffer_stats stats;
};
struct trace_snapshot {
  unsigned nr_cpus = 0;  // the logical CPUs; cpus has one more, the outside threads' ring
  std::vector<trace_cpu_pages> cpus;
  std::map<int, std::string> comms;  // pid -> comm, for every pid the records mention
};
trace_snapshot trace_take_snapshot();

// One record of a snapshot.
struct trace_event_ref {
  u64 ts;
  unsigned cpu;
  const trace_entry* ent;
  u32 len;
  const trace_event_call* call;  // nullptr for a type cpustop does not know
  u64 lost;                      // events lost on this CPU just before this one
};
// The records of every ring, merged by time (lower CPU first on a tie), as trace-cmd reads them.
std::vector<trace_event_ref> trace_snapshot_events(const trace_snapshot& s);
// Calls fn(call, record) for every record cpustop knows, ring by ring, unsorted.
template <class F>
void trace_snapshot_for_each(const trace_snapshot& s, F&& fn) {
  for (const trace_cpu_pages& c : s.cpus)
    for (const buffer_data_page& pg : c.pages)
      ring_buffer_page_for_each(pg, [&](const ring_buffer_event_view& ev) {
        if (ev.len < sizeof(trace_entry)) return;
        const auto* ent = static_cast<const trace_entry*>(ev.data);
        if (const trace_event_call* call = trace_event_by_type(ent->type)) fn(call, ent);
      });
}

// Reading a record's fields through its event's metadata.
const trace_event_field* trace_find_field(const trace_event_call* call, std::string_view name);
long long trace_field_number(const trace_event_field& f, const void* rec);
std::string trace_field_string(const trace_event_field& f, const void* rec);
// The value of a field as the slice name of an exporter: a string, a function (%ps) or a number.
std::string trace_field_text(const trace_event_field& f, const void* rec);

// The output of a record (its TP_printk), and ftrace's latency column ("d..1.").
std::string trace_event_output(const trace_event_ref& r);
std::string trace_lat_flags(const trace_entry* e);
std::string trace_comm_of(const trace_snapshot& s, int pid);

// The format file of an event, as tracefs shows events/<system>/<name>/format.
std::string trace_format_file(const trace_event_call* call);

std::string trace_export_text(const trace_snapshot& s);
std::string trace_export_dat(const trace_snapshot& s);
std::string trace_export_json(const trace_snapshot& s);

}  // namespace cpustop

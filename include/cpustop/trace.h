// Tracepoints: the kernel's event names and fields, recorded into per-CPU ring buffers in the
// kernel's page format and read back as ftrace text, as a trace.dat that trace-cmd and
// KernelShark read, or as Chrome/Perfetto JSON. Every tracepoint is also a USDT probe
// (provider cpustop, the event's name, its fields as arguments), so that perf and bpftrace can
// record a running program with no cpustop tracing turned on.
//
// Events recorded by threads outside the logical CPUs carry that thread's name and host thread
// id, and land in one more ring: CPU nr_cpu_ids() in every output.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cpustop {

// Every event cpustop has, as "subsystem:event" (sched:sched_switch, stop:cpu_stop_queue, ...).
std::vector<std::string> trace_event_names();
// Enables or disables an event by "subsystem:event", "event", "subsystem:*" or "all". Any time,
// also before boot. Returns 0 or -ENOENT for an unknown name (nothing changes).
int trace_event_enable(std::string_view name, bool on = true);
bool trace_event_enabled(std::string_view name);
// The size of each CPU's ring (ftrace's buffer_size_kb; at least 8); applies from the next boot.
// When a ring is full its oldest page is overwritten, and its events are counted as lost.
// Default 1024.
void trace_set_buffer_size_kb(std::size_t kb);
// Drops every recorded entry.
void trace_clear();

struct trace_record {
  std::uint64_t ts_ns;  // since boot
  int cpu;              // nr_cpu_ids(): recorded by a thread outside the logical CPUs
  pid_t pid;            // the task that was running (the host thread id outside the CPUs)
  std::string comm;
  std::string flags;   // ftrace's irqs-off / need-resched / irq-context / preempt-depth column
  std::string event;   // e.g. "sched_migrate_task"
  std::string fields;  // e.g. "comm=spin pid=42 prio=120 orig_cpu=0 dest_cpu=1"
};
// Every recorded entry, oldest first (merged across CPUs by timestamp).
std::vector<trace_record> trace_records();
// The same as ftrace text, with the kernel's header.
std::string trace_text();

// Whole-trace formats; trace_format_of() picks one by a file name's extension: ".dat" trace.dat
// (trace-cmd's format version 6), ".json" Chrome/Perfetto JSON, anything else ftrace text.
enum class trace_format { text, dat, json };
trace_format trace_format_of(std::string_view path);
// The recorded trace in that format (the bytes of the file).
std::string trace_export(trace_format fmt);

// Reads a trace.dat that cpustop wrote and prints it as `trace-cmd report` does ("cpus=N", then
// one line per event, and "CPU:N [M EVENTS DROPPED]" where a ring had overflowed). Returns 0, or
// -EINVAL for a file it cannot read (out then says why).
int trace_dat_report(std::string_view file, std::string* out);

// Per ring: events held now, lost to overwriting, ever written. The last ring is the outside
// threads'.
struct trace_cpu_stat {
  unsigned cpu;
  std::uint64_t entries, overrun, written;
};
std::vector<trace_cpu_stat> trace_stats();
// Entries lost to overwriting since the last clear.
std::uint64_t trace_overruns();

// The benchmark's hook: n calls of the kernel's inline stop:cpu_stop_finish tracepoint with
// (fn, 0..n-1), each recorded only while the event is enabled. Any context; never sleeps.
void trace_cpu_stop_finish_loop(int (*fn)(void*), int n);

}  // namespace cpustop

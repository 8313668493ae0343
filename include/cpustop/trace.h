// Tracepoints: the kernel's event names and fields, recorded into per-CPU ring buffers and read
// back as ftrace text ("comm-pid [cpu] flags timestamp: event: fields").
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
// also before boot. Returns 0 or -ENOENT for an unknown name.
int trace_event_enable(std::string_view name, bool on = true);
bool trace_event_enabled(std::string_view name);
// Entries kept per CPU (older ones are overwritten, as ftrace's overwrite mode); applies from the
// next boot or trace_clear(). Default 16384.
void trace_set_buffer_entries(std::size_t entries);
// Drops every recorded entry.
void trace_clear();

struct trace_record {
  std::uint64_t ts_ns;  // since boot
  int cpu;              // -1: recorded by a thread outside cpustop
  pid_t pid;            // the task that was running
  std::string comm;
  std::string flags;   // ftrace's irqs-off / need-resched / irq-context / preempt-depth column
  std::string event;   // e.g. "sched_migrate_task"
  std::string fields;  // e.g. "comm=spin pid=42 prio=120 orig_cpu=0 dest_cpu=1"
};
// Every recorded entry, oldest first (merged across CPUs by timestamp).
std::vector<trace_record> trace_records();
// The same as ftrace text, with its header.
std::string trace_text();
// Entries lost to overwriting since the last clear.
std::uint64_t trace_overruns();

}  // namespace cpustop

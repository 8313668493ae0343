// What the ring buffer and the exporters know of an event (the kernel's trace_event_call): its
// name, system, id, the layout of its raw record and how to print one. Everything here is
// generated from the event's one definition in trace/events/*.h; nothing below trace/events.cpp
// knows any particular event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <type_traits>

#include "trace/tracepoint.h"

namespace cpustop {

// The 8 bytes every raw record starts with, as the kernel's struct trace_entry.
struct trace_entry {
  std::uint16_t type;
  std::uint8_t flags;
  std::uint8_t preempt_count;  // preempt depth (low nibble), migrate-disable depth (high)
  std::int32_t pid;
};
static_assert(sizeof(trace_entry) == 8);

// common_flags bits, as the kernel's (0x02, "irqs-off not supported", is never set).
enum : std::uint8_t {
  TRACE_FLAG_IRQS_OFF = 0x01,
  TRACE_FLAG_NEED_RESCHED = 0x04,
  TRACE_FLAG_HARDIRQ = 0x08,
  TRACE_FLAG_SOFTIRQ = 0x10,
  TRACE_FLAG_PREEMPT_RESCHED = 0x20,
};

enum class trace_field_kind : std::uint8_t { number, array, data_loc };

struct trace_event_field {
  const char* type;  // as the format file spells it: "pid_t", "void *", "char"
  const char* name;
  std::uint16_t offset, size;
  bool is_signed;
  trace_field_kind kind;
};

// How the Chrome/Perfetto JSON exporter draws an event.
enum class trace_json_kind : std::uint8_t {
  instant,  // a mark on the track of the CPU that recorded it
  sched_switch,
  wakeup,   // a mark, and the task counts as runnable on target_cpu
  migrate,  // a flow from orig_cpu to dest_cpu
  begin,    // opens a slice named by name_field (or by the printed event)
  end,      // closes it
};
struct trace_json_map {
  trace_json_kind kind = trace_json_kind::instant;
  const char* name_field = nullptr;
  const char* cpu_field =
      nullptr;               // the slice belongs to this CPU's hotplug track, not the recorder's
  bool text_marker = false;  // also a tracing_mark_write B|pid|name / E|pid in ftrace text
};

struct trace_seq;
class ring_buffer_per_cpu;

struct trace_event_call {
  const char* system;
  const char* name;
  std::uint16_t id;  // common_type
  std::span<const trace_event_field> fields;
  const char* print_fmt;  // the format file's "print fmt:" line, after the colon
  void (*output)(trace_seq* s, const void* rec);
  tracepoint_key* key;
  trace_json_map json;
};

// common_type of an event is TRACE_EVENT_TYPE_BASE + its trace_event_id; 5 is ftrace's print,
// as in the kernel (the marker lines the exporters add).
inline constexpr std::uint16_t TRACE_EVENT_TYPE_BASE = 100;
inline constexpr std::uint16_t TRACE_PRINT_TYPE = 5;

// Every event, in the order of trace_event_id (trace/events.h).
std::span<const trace_event_call* const> trace_event_list();
const trace_event_call* trace_event_by_type(std::uint16_t type);

// ---- Printing records ----------------------------------------------------------------------

struct trace_seq {
  std::string buf;
};

// One printf argument, with the kernel's default promotions already applied.
struct trace_arg {
  enum kind_t : std::uint8_t { sint, uint, str, ptr } kind;
  std::size_t max_len = static_cast<std::size_t>(-1);  // for char arrays not known to end in NUL
  union {
    long long s;
    unsigned long long u;
    const char* p;
    const void* v;
  };
  template <class T>
  requires std::is_integral_v<T> trace_arg(T x) : kind(std::is_signed_v<T> ? sint : uint) {
    if constexpr (std::is_signed_v<T>)
      s = x;
    else
      u = x;
  }
  template <std::size_t N>
  trace_arg(const char (&a)[N]) : kind(str), max_len(N), p(a) {}
  trace_arg(const char* x) : kind(str), p(x) {}
  trace_arg(const std::string& x) : kind(str), p(x.c_str()) {}
  trace_arg(const void* x) : kind(ptr), v(x) {}
};

// printf with the kernel's vsnprintf additions that event formats use: %ps and %pS print the
// function at an address (and %pS its offset), as kallsyms names it.
void trace_seq_vprintf(trace_seq* s, const char* fmt, std::span<const trace_arg> args);
template <class... A>
void trace_seq_printf(trace_seq* s, const char* fmt, const A&... a) {
  const trace_arg args[] = {trace_arg(a)..., trace_arg(0)};
  trace_seq_vprintf(s, fmt, {args, sizeof...(A)});
}

// __print_flags() and __print_symbolic() of a TP_printk.
struct trace_print_flag_sym {
  unsigned long mask;
  const char* name;
};
std::string trace_print_flags(unsigned long flags, const char* delim,
                              std::initializer_list<trace_print_flag_sym> syms);
std::string trace_print_symbolic(unsigned long val,
                                 std::initializer_list<trace_print_flag_sym> syms);

// The name %ps prints for addr ("0x..." when unknown), and the start of the function holding it
// (0 when unknown). Names carry no white space, as kallsyms lines cannot.
std::string trace_sym_name(unsigned long addr, unsigned long* start = nullptr);
// While set, %ps on this thread names addresses from table (start -> name, a trace.dat's
// kallsyms) as libtraceevent does, instead of from the running program. nullptr restores.
void trace_sym_use(const std::map<unsigned long, std::string>* table);
// Names an address that is not a function (a hotplug step): %ps prints name for it. Copies name.
void trace_sym_note(const void* addr, const char* name);

// ---- Recording ------------------------------------------------------------------------------

inline constexpr std::size_t TRACE_EVENT_MAX_SIZE = 256;  // a raw record, common part included
inline constexpr std::size_t TRACE_STR_MAX = 64;          // a __string field, NUL included

// A record being written: in the ring when the event records, else on the stack for USDT alone.
struct trace_event_buffer {
  void* entry = nullptr;
  ring_buffer_per_cpu* ring = nullptr;  // the ring it is reserved in; nullptr: the stack
  bool shared = false;                  // the outside threads' ring, written under its lock
  int irqs_off = 0;                     // as they were before the reserve
  bool usdt = false;
  alignas(8) unsigned char stack[TRACE_EVENT_MAX_SIZE];
};
void* trace_event_buffer_reserve(trace_event_buffer* fb, const trace_event_call* call,
                                 std::uint32_t size);
void trace_event_buffer_commit(trace_event_buffer* fb);

// The identity an event's fields give a task; nullptr is the thread outside the logical CPUs
// that fires the event (its host name and thread id).
const char* trace_current_comm();
int trace_current_pid();

inline std::uint32_t trace_str_len(const char* s) {
  std::uint32_t n = 0;
  while (n + 1 < TRACE_STR_MAX && s[n]) n++;
  return n + 1;
}

}  // namespace cpustop

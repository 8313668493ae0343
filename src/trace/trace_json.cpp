// Chrome/Perfetto JSON ("traceEvents"): one track per logical CPU with the slices of the tasks
// that ran there, stopper works, softirqs and work items as slices inside them, hotplug states as
// slices on a cpuhp/N track of the CPU they ran for, migrations as flows from the old CPU to the
// new, and a counter of the runnable tasks of each CPU. How each event is drawn comes from its
// definition (TP_json); the exporter knows field names, not events.
#include <cstdio>
#include <map>
#include <set>

#include "trace/trace.h"

namespace cpustop {

namespace {

constexpr int PID = 1;             // the machine, as one process
constexpr int CPUHP_TRACK = 1000;  // + cpu: the hotplug states run for that CPU

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string us(u64 ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%llu.%03llu", static_cast<unsigned long long>(ns / 1000),
                static_cast<unsigned long long>(ns % 1000));
  return buf;
}

struct json_out {
  std::string out;
  bool first = true;
  void ev(const std::string& body) {
    out += first ? "\n" : ",\n";
    out += "{" + body + "}";
    first = false;
  }
  void slice(int tid, u64 begin, u64 end, const std::string& name, const std::string& args) {
    ev("\"ph\":\"X\",\"pid\":" + std::to_string(PID) + ",\"tid\":" + std::to_string(tid) +
       ",\"ts\":" + us(begin) + ",\"dur\":" + us(end - begin) + ",\"name\":\"" + esc(name) +
       "\",\"args\":{" + args + "}");
  }
  void thread_name(int tid, const std::string& name, int sort) {
    ev("\"ph\":\"M\",\"pid\":" + std::to_string(PID) + ",\"tid\":" + std::to_string(tid) +
       ",\"name\":\"thread_name\",\"args\":{\"name\":\"" + esc(name) + "\"}");
    ev("\"ph\":\"M\",\"pid\":" + std::to_string(PID) + ",\"tid\":" + std::to_string(tid) +
       ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":" + std::to_string(sort) + "}");
  }
};

long long num(const trace_event_ref& r, const char* field, long long dflt = -1) {
  const trace_event_field* f = trace_find_field(r.call, field);
  return f ? trace_field_number(*f, r.ent) : dflt;
}
std::string str(const trace_event_ref& r, const char* field) {
  const trace_event_field* f = trace_find_field(r.call, field);
  return f ? trace_field_text(*f, r.ent) : std::string();
}

struct running {
  long long pid = -1;
  std::string comm;
  long long prio = 0;
  u64 since = 0;
};
struct open_slice {
  const trace_event_call* call;
  u64 begin;
  std::string name;
};

}  // namespace

std::string trace_export_json(const trace_snapshot& s) {
  json_out j;
  j.out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[";
  j.ev("\"ph\":\"M\",\"pid\":" + std::to_string(PID) +
       ",\"name\":\"process_name\",\"args\":{\"name\":\"cpustop\"}");
  for (unsigned c = 0; c < s.nr_cpus; c++) {
    j.thread_name(static_cast<int>(c), "CPU " + std::to_string(c), static_cast<int>(c));
    j.thread_name(CPUHP_TRACK + static_cast<int>(c), "cpuhp/" + std::to_string(c),
                  static_cast<int>(s.nr_cpus + 1 + c));
  }
  j.thread_name(static_cast<int>(s.nr_cpus), "outside the logical CPUs",
                static_cast<int>(s.nr_cpus));

  std::vector<trace_event_ref> events = trace_snapshot_events(s);
  u64 last = events.empty() ? 0 : events.back().ts;
  std::map<unsigned, running> on_cpu;
  std::map<unsigned, u64> first_ts;
  std::map<int, std::vector<open_slice>> open;  // per track, innermost last
  std::map<long long, unsigned> runnable;       // pid -> CPU, for the runnable tasks
  std::map<unsigned, long long> counted;        // CPU -> runnable tasks last emitted
  struct pending_flow {
    unsigned id, dest;
  };
  std::map<long long, pending_flow> flows;
  unsigned next_flow = 1;

  auto count = [&](u64 ts) {
    std::map<unsigned, long long> now;
    for (unsigned c = 0; c < s.nr_cpus; c++) now[c] = 0;
    for (const auto& [pid, cpu] : runnable)
      if (cpu < s.nr_cpus) now[cpu]++;
    for (const auto& [cpu, n] : now) {
      auto it = counted.find(cpu);
      if (it != counted.end() && it->second == n) continue;
      counted[cpu] = n;
      j.ev("\"ph\":\"C\",\"pid\":" + std::to_string(PID) + ",\"ts\":" + us(ts) +
           ",\"name\":\"runnable CPU " + std::to_string(cpu) +
           "\",\"args\":{\"tasks\":" + std::to_string(n) + "}");
    }
  };
  auto flow = [&](const char* ph, unsigned id, unsigned tid, u64 ts) {
    j.ev(std::string("\"ph\":\"") + ph + "\",\"id\":" + std::to_string(id) +
         ",\"pid\":" + std::to_string(PID) + ",\"tid\":" + std::to_string(tid) +
         ",\"ts\":" + us(ts) + ",\"cat\":\"sched\",\"name\":\"sched_migrate_task\"" +
         (ph[0] == 'f' ? ",\"bp\":\"e\"" : ""));
  };

  for (const trace_event_ref& r : events) {
    first_ts.emplace(r.cpu, r.ts);
    if (!r.call) continue;
    const trace_json_map& m = r.call->json;
    int track = static_cast<int>(r.cpu);
    if (m.cpu_field) track = CPUHP_TRACK + static_cast<int>(num(r, m.cpu_field, r.cpu));
    switch (m.kind) {
      case trace_json_kind::sched_switch: {
        running& cur = on_cpu[r.cpu];
        long long prev = num(r, "prev_pid");
        u64 since = cur.pid == prev ? cur.since : first_ts[r.cpu];
        if (prev > 0)
          j.slice(track, since, r.ts, str(r, "prev_comm"),
                  "\"pid\":" + std::to_string(prev) +
                      ",\"prio\":" + std::to_string(num(r, "prev_prio")));
        long long state = num(r, "prev_state", 0);
        if (state & 0xff) runnable.erase(prev);  // blocked (R and R+ stay runnable)
        cur = {num(r, "next_pid"), str(r, "next_comm"), num(r, "next_prio"), r.ts};
        if (cur.pid > 0) runnable[cur.pid] = r.cpu;
        auto f = flows.find(cur.pid);
        if (f != flows.end() && f->second.dest == r.cpu) {
          flow("f", f->second.id, r.cpu, r.ts);
          flows.erase(f);
        }
        count(r.ts);
        break;
      }
      case trace_json_kind::wakeup:
        runnable[num(r, "pid")] = static_cast<unsigned>(num(r, "target_cpu", r.cpu));
        count(r.ts);
        [[fallthrough]];
      case trace_json_kind::instant:
        j.ev("\"ph\":\"i\",\"s\":\"t\",\"pid\":" + std::to_string(PID) +
             ",\"tid\":" + std::to_string(track) + ",\"ts\":" + us(r.ts) + ",\"name\":\"" +
             r.call->name + "\",\"args\":{\"fields\":\"" + esc(trace_event_output(r)) + "\"}");
        break;
      case trace_json_kind::migrate: {
        long long pid = num(r, "pid");
        auto orig = static_cast<unsigned>(num(r, "orig_cpu")),
             dest = static_cast<unsigned>(num(r, "dest_cpu"));
        if (orig == dest) break;
        auto f = flows.find(pid);
        if (f != flows.end()) flow("f", f->second.id, f->second.dest, r.ts);
        flow("s", next_flow, orig, r.ts);
        flows[pid] = {next_flow++, dest};
        auto it = runnable.find(pid);
        if (it != runnable.end()) it->second = dest;
        count(r.ts);
        break;
      }
      case trace_json_kind::begin: {
        const trace_event_field* f =
            m.name_field ? trace_find_field(r.call, m.name_field) : nullptr;
        open[track].push_back(
            {r.call, r.ts, f ? trace_field_text(*f, r.ent) : trace_event_output(r)});
        break;
      }
      case trace_json_kind::end: {
        // Close the innermost open slice of the same kind (begin and end share the fields).
        auto& stack = open[track];
        for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
          if (it->call->fields.data() != r.call->fields.data() &&
              std::string_view(it->call->system) != r.call->system)
            continue;
          j.slice(track, it->begin, r.ts, it->name,
                  "\"fields\":\"" + esc(trace_event_output(r)) + "\"");
          stack.erase(std::next(it).base());
          break;
        }
        break;
      }
    }
  }
  for (const auto& [cpu, cur] : on_cpu)
    if (cur.pid > 0)
      j.slice(static_cast<int>(cpu), cur.since, last, cur.comm,
              "\"pid\":" + std::to_string(cur.pid) + ",\"prio\":" + std::to_string(cur.prio));
  for (const auto& [track, stack] : open)
    for (const open_slice& o : stack) j.slice(track, o.begin, last, o.name, "\"unfinished\":true");
  for (const auto& [pid, f] : flows) flow("f", f.id, f.dest, last);
  j.out += "\n]}\n";
  return j.out;
}

}  // namespace cpustop

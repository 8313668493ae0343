// Tracing control (which events record, the rings' size) and reading back: snapshots of the
// rings, records decoded through their event's metadata.
#include "trace/trace.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cpustop/sched.h"
#include "cpustop/trace.h"

namespace cpustop {

std::atomic<trace_array*> global_trace{nullptr};

namespace {

std::size_t buffer_size_kb = 1024;

// saved_cmdlines: one slot per pid modulo the size; comm as two words, so that racing readers
// and writers need no lock (a torn slot is repaired by the pid's next event).
constexpr std::size_t SAVED_CMDLINES = 8192;
struct cmdline_slot {
  std::atomic<int> pid{0};
  std::atomic<u64> comm[2];
};
cmdline_slot saved_cmdlines[SAVED_CMDLINES];

bool name_matches(std::string_view pattern, const trace_event_call* c) {
  std::string full = std::string(c->system) + ":" + c->name;
  if (pattern == "all" || pattern == full || pattern == c->name) return true;
  return pattern.size() > 2 && pattern.substr(pattern.size() - 2) == ":*" &&
         pattern.substr(0, pattern.size() - 2) == c->system;
}

}  // namespace

const trace_event_call* trace_event_by_type(std::uint16_t type) {
  auto list = trace_event_list();
  if (type < TRACE_EVENT_TYPE_BASE || type - TRACE_EVENT_TYPE_BASE >= static_cast<int>(list.size()))
    return nullptr;
  return list[type - TRACE_EVENT_TYPE_BASE];
}

void trace_save_cmdline(int pid, const char* comm) {
  if (pid <= 0) return;
  u64 c[2] = {0, 0};
  std::memcpy(c, comm, strnlen(comm, TASK_COMM_LEN - 1));
  cmdline_slot& s = saved_cmdlines[static_cast<unsigned>(pid) % SAVED_CMDLINES];
  if (s.pid.load(std::memory_order_relaxed) == pid &&
      s.comm[0].load(std::memory_order_relaxed) == c[0] &&
      s.comm[1].load(std::memory_order_relaxed) == c[1])
    return;
  s.comm[0].store(c[0], std::memory_order_relaxed);
  s.comm[1].store(c[1], std::memory_order_relaxed);
  s.pid.store(pid, std::memory_order_relaxed);
}

// ---- Control ---------------------------------------------------------------------------------

void trace_boot_init(unsigned nr_cpus) {
  auto* tr = new trace_array;
  tr->nr_cpus = nr_cpus;
  std::size_t pages = buffer_size_kb * 1024 / BUF_PAGE_SIZE;
  for (unsigned i = 0; i <= nr_cpus; i++)
    tr->rings.push_back(std::make_unique<ring_buffer_per_cpu>(pages, i == nr_cpus));
  tr->cmdline_pid = std::make_unique<int[]>(nr_cpus + 1);
  delete global_trace.exchange(tr, std::memory_order_acq_rel);
}

void trace_boot_exit() {}

std::vector<std::string> trace_event_names() {
  std::vector<std::string> out;
  for (const trace_event_call* c : trace_event_list())
    out.push_back(std::string(c->system) + ":" + c->name);
  return out;
}

int trace_event_enable(std::string_view name, bool on) {
  bool found = false;
  for (const trace_event_call* c : trace_event_list()) {
    if (!name_matches(name, c)) continue;
    found = true;
    if (on)
      c->key->fetch_or(TRACEPOINT_RING, std::memory_order_acq_rel);
    else
      c->key->fetch_and(~TRACEPOINT_RING, std::memory_order_acq_rel);
  }
  return found ? 0 : -ENOENT;
}

bool trace_event_enabled(std::string_view name) {
  for (const trace_event_call* c : trace_event_list())
    if (name != "all" && name_matches(name, c))
      return c->key->load(std::memory_order_relaxed) & TRACEPOINT_RING;
  return false;
}

void trace_set_buffer_size_kb(std::size_t kb) {
  buffer_size_kb = std::max<std::size_t>(kb, 2 * BUF_PAGE_SIZE / 1024);
}

void trace_clear() {
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  if (!tr) return;
  for (auto& r : tr->rings) r->clear();
}

std::vector<trace_cpu_stat> trace_stats() {
  std::vector<trace_cpu_stat> out;
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  if (!tr) return out;
  for (unsigned i = 0; i < tr->rings.size(); i++) {
    ring_buffer_stats st;
    tr->rings[i]->read_pages(&st);
    out.push_back({i, st.entries, st.overrun, st.written});
  }
  return out;
}

std::uint64_t trace_overruns() {
  std::uint64_t n = 0;
  for (const trace_cpu_stat& s : trace_stats()) n += s.overrun;
  return n;
}

// ---- Reading ---------------------------------------------------------------------------------

const trace_event_field* trace_find_field(const trace_event_call* call, std::string_view name) {
  for (const trace_event_field& f : call->fields)
    if (name == f.name) return &f;
  return nullptr;
}

long long trace_field_number(const trace_event_field& f, const void* rec) {
  const auto* p = static_cast<const unsigned char*>(rec) + f.offset;
  unsigned long long u = 0;
  std::memcpy(&u, p, std::min<std::size_t>(f.size, sizeof(u)));
  if (f.is_signed && f.size < 8) {
    unsigned shift = 64 - 8 * f.size;
    return static_cast<long long>(u << shift) >> shift;
  }
  return static_cast<long long>(u);
}

std::string trace_field_string(const trace_event_field& f, const void* rec) {
  const auto* base = static_cast<const char*>(rec);
  if (f.kind == trace_field_kind::array) return {base + f.offset, strnlen(base + f.offset, f.size)};
  if (f.kind == trace_field_kind::data_loc) {
    u32 loc;
    std::memcpy(&loc, base + f.offset, 4);
    return {base + (loc & 0xffff), strnlen(base + (loc & 0xffff), loc >> 16)};
  }
  return std::to_string(trace_field_number(f, rec));
}

std::string trace_field_text(const trace_event_field& f, const void* rec) {
  if (f.kind == trace_field_kind::number && std::strchr(f.type, '*'))
    return trace_sym_name(static_cast<unsigned long>(trace_field_number(f, rec)));
  return trace_field_string(f, rec);
}

trace_snapshot trace_take_snapshot() {
  trace_snapshot s;
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  if (!tr) return s;
  s.nr_cpus = tr->nr_cpus;
  for (auto& r : tr->rings) {
    trace_cpu_pages cp;
    cp.pages = r->read_pages(&cp.stats);
    s.cpus.push_back(std::move(cp));
  }
  for (const cmdline_slot& slot : saved_cmdlines) {
    int pid = slot.pid.load(std::memory_order_relaxed);
    if (pid <= 0) continue;
    u64 c[2] = {slot.comm[0].load(std::memory_order_relaxed),
                slot.comm[1].load(std::memory_order_relaxed)};
    const auto* comm = reinterpret_cast<const char*>(c);
    s.comms[pid] = std::string(comm, strnlen(comm, sizeof(c)));
  }
  // Pids the table lost to a collision are named by the comm fields of the records (comm and
  // pid, prev_comm and prev_pid, ...).
  using comm_pid = std::pair<const trace_event_field*, const trace_event_field*>;
  std::vector<std::vector<comm_pid>> pairs;
  for (const trace_event_call* c : trace_event_list()) {
    pairs.emplace_back();
    for (const trace_event_field& f : c->fields) {
      std::string_view name = f.name;
      if (f.kind == trace_field_kind::number || !name.ends_with("comm")) continue;
      std::string pid_name = std::string(name.substr(0, name.size() - 4)) + "pid";
      if (const trace_event_field* pf = trace_find_field(c, pid_name))
        pairs.back().push_back({&f, pf});
    }
  }
  trace_snapshot_for_each(s, [&](const trace_event_call* c, const trace_entry* ent) {
    for (const auto& [cf, pf] : pairs[c->id - TRACE_EVENT_TYPE_BASE]) {
      int pid = static_cast<int>(trace_field_number(*pf, ent));
      if (pid > 0 && !s.comms.count(pid)) s.comms.emplace(pid, trace_field_string(*cf, ent));
    }
  });
  return s;
}

std::vector<trace_event_ref> trace_snapshot_events(const trace_snapshot& s) {
  std::vector<trace_event_ref> out;
  for (unsigned cpu = 0; cpu < s.cpus.size(); cpu++) {
    for (const buffer_data_page& pg : s.cpus[cpu].pages) {
      u64 lost = 0;
      if (pg.commit & RB_MISSED_EVENTS) {
        u32 size = static_cast<u32>(pg.commit & RB_COMMIT_MASK);
        lost = ~0ull;
        if (pg.commit & RB_MISSED_STORED) std::memcpy(&lost, pg.data + size, sizeof(lost));
      }
      ring_buffer_page_for_each(pg, [&](const ring_buffer_event_view& ev) {
        if (ev.len < sizeof(trace_entry)) return;
        const auto* ent = static_cast<const trace_entry*>(ev.data);
        out.push_back({ev.ts, cpu, ent, ev.len, trace_event_by_type(ent->type), lost});
        lost = 0;
      });
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const trace_event_ref& a, const trace_event_ref& b) { return a.ts < b.ts; });
  return out;
}

std::string trace_event_output(const trace_event_ref& r) {
  if (!r.call) return "[UNKNOWN TYPE " + std::to_string(r.ent->type) + "]";
  trace_seq s;
  r.call->output(&s, r.ent);
  return s.buf;
}

std::string trace_lat_flags(const trace_entry* e) {
  bool hard = e->flags & TRACE_FLAG_HARDIRQ, soft = e->flags & TRACE_FLAG_SOFTIRQ;
  const char* hex = "0123456789abcdef";
  std::string f(5, '.');
  if (e->flags & TRACE_FLAG_IRQS_OFF) f[0] = 'd';
  if (e->flags & TRACE_FLAG_NEED_RESCHED) f[1] = 'N';
  f[2] = hard && soft ? 'H' : hard ? 'h' : soft ? 's' : '.';
  if (e->preempt_count & 0xf) f[3] = hex[e->preempt_count & 0xf];
  if (e->preempt_count >> 4) f[4] = hex[e->preempt_count >> 4];
  return f;
}

std::string trace_comm_of(const trace_snapshot& s, int pid) {
  if (pid == 0) return "<idle>";
  auto it = s.comms.find(pid);
  return it != s.comms.end() ? it->second : "<...>";
}

std::vector<trace_record> trace_records() {
  trace_snapshot s = trace_take_snapshot();
  std::vector<trace_record> out;
  for (const trace_event_ref& r : trace_snapshot_events(s))
    out.push_back({r.ts, static_cast<int>(r.cpu), r.ent->pid, trace_comm_of(s, r.ent->pid),
                   trace_lat_flags(r.ent), r.call ? r.call->name : "?", trace_event_output(r)});
  return out;
}

trace_format trace_format_of(std::string_view path) {
  if (path.ends_with(".dat")) return trace_format::dat;
  if (path.ends_with(".json")) return trace_format::json;
  return trace_format::text;
}

std::string trace_export(trace_format fmt) {
  trace_snapshot s = trace_take_snapshot();
  switch (fmt) {
    case trace_format::dat:
      return trace_export_dat(s);
    case trace_format::json:
      return trace_export_json(s);
    case trace_format::text:
      break;
  }
  return trace_export_text(s);
}

std::string trace_text() {
  return trace_export(trace_format::text);
}

}  // namespace cpustop

// trace.dat, trace-cmd's file format version 6 (man 5 trace-cmd.dat.v6), written from the rings'
// pages as they are, and read back for `trace report`. Sections in order: the magic and version,
// header_page and header_event as tracefs prints them, the ftrace and event format files,
// kallsyms (the functions %ps and %pS name), printk formats (none), saved_cmdlines, the CPU
// count, options, and "flyrecord": each CPU's offset and size, then its pages, page-aligned.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "cpustop/trace.h"
#include "trace/trace.h"

namespace cpustop {

namespace {

const char magic[] = "\x17\x08\x44tracing";  // 10 bytes, then "6\0"

const char header_page[] =
    "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
    "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
    "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";

const char header_event[] =
    "# compressed entry header\n"
    "\ttype_len    :    5 bits\n"
    "\ttime_delta  :   27 bits\n"
    "\tarray       :   32 bits\n"
    "\n"
    "\tpadding     : type == 29\n"
    "\ttime_extend : type == 30\n"
    "\ttime_stamp : type == 31\n"
    "\tdata max type_len  == 28\n";

// ftrace/print: readers want at least one ftrace event.
const char ftrace_print_format[] =
    "name: print\n"
    "ID: 5\n"
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"
    "\n"
    "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n"
    "\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:0;\n"
    "\n"
    "print fmt: \"%ps: %s\", (void *)REC->ip, REC->buf\n";

enum : std::uint16_t { OPTION_DONE = 0, OPTION_CPUSTAT = 2, OPTION_UNAME = 5 };

struct writer {
  std::string out;
  void bytes(const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }
  template <class T>
  void num(T v) {
    bytes(&v, sizeof(v));
  }
  void cstr(const std::string& s) { bytes(s.c_str(), s.size() + 1); }
  void blob64(const std::string& s) {
    num<u64>(s.size());
    out += s;
  }
  void blob32(const std::string& s) {
    num<u32>(static_cast<u32>(s.size()));
    out += s;
  }
};

// Functions named by the records' pointer fields, and the step names noted for hotplug.
std::string kallsyms(const trace_snapshot& s) {
  std::vector<std::vector<const trace_event_field*>> pointers;
  for (const trace_event_call* c : trace_event_list()) {
    pointers.emplace_back();
    for (const trace_event_field& f : c->fields)
      if (f.kind == trace_field_kind::number && std::strchr(f.type, '*'))
        pointers.back().push_back(&f);
  }
  std::set<unsigned long> addrs;
  trace_snapshot_for_each(s, [&](const trace_event_call* c, const trace_entry* ent) {
    for (const trace_event_field* f : pointers[c->id - TRACE_EVENT_TYPE_BASE])
      addrs.insert(static_cast<unsigned long>(trace_field_number(*f, ent)));
  });
  std::map<unsigned long, std::string> syms;
  for (unsigned long addr : addrs) {
    if (!addr) continue;
    unsigned long start = addr;
    std::string name = trace_sym_name(addr, &start);
    syms.emplace(start, name);
  }
  std::string out;
  char line[64];
  for (const auto& [addr, name] : syms) {
    std::snprintf(line, sizeof(line), "%016lx t ", addr);
    out += line + name + "\n";
  }
  // libtraceevent gives the last function only its own address: end the table after it.
  if (!syms.empty()) out += "ffffffffffffffff t _end_of_cpustop_symbols\n";
  return out;
}

// As trace-cmd record saves per_cpu/cpuN/stats: entries left unread (none: all are in the file),
// events lost to overwriting, events read into the file.
std::string cpustat(unsigned cpu, const trace_cpu_pages& c) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "CPU: %u\nentries: 0\noverrun: %llu\ncommit overrun: 0\nbytes: %zu\n"
                "dropped events: 0\nread events: %llu\n",
                cpu, static_cast<unsigned long long>(c.stats.overrun),
                c.pages.size() * BUF_PAGE_SIZE, static_cast<unsigned long long>(c.stats.entries));
  return std::string(buf) + '\0';
}

}  // namespace

std::string trace_export_dat(const trace_snapshot& s) {
  writer w;
  w.bytes(magic, 10);
  w.bytes("6", 2);
  w.num<std::uint8_t>(0);  // little endian
  w.num<std::uint8_t>(sizeof(long));
  w.num<u32>(BUF_PAGE_SIZE);
  w.cstr("header_page");
  w.blob64(header_page);
  w.cstr("header_event");
  w.blob64(header_event);

  w.num<u32>(1);
  w.blob64(ftrace_print_format);
  std::vector<std::string> systems;
  for (const trace_event_call* c : trace_event_list())
    if (std::find(systems.begin(), systems.end(), c->system) == systems.end())
      systems.push_back(c->system);
  w.num<u32>(static_cast<u32>(systems.size()));
  for (const std::string& sys : systems) {
    w.cstr(sys);
    std::vector<const trace_event_call*> events;
    for (const trace_event_call* c : trace_event_list())
      if (sys == c->system) events.push_back(c);
    w.num<u32>(static_cast<u32>(events.size()));
    for (const trace_event_call* c : events) w.blob64(trace_format_file(c));
  }

  w.blob32(kallsyms(s));
  w.num<u32>(0);  // printk formats
  std::string cmdlines;
  for (const auto& [pid, comm] : s.comms) cmdlines += std::to_string(pid) + " " + comm + "\n";
  w.blob64(cmdlines);

  auto nr = static_cast<u32>(s.cpus.size());
  w.num<u32>(nr);
  w.bytes("options  ", 10);
  for (unsigned cpu = 0; cpu < nr; cpu++) {
    std::string st = cpustat(cpu, s.cpus[cpu]);
    w.num<std::uint16_t>(OPTION_CPUSTAT);
    w.blob32(st);
  }
  w.num<std::uint16_t>(OPTION_UNAME);
  w.blob32(std::string("cpustop") + '\0');
  w.num<std::uint16_t>(OPTION_DONE);
  w.bytes("flyrecord", 10);

  std::size_t data = (w.out.size() + 16 * nr + BUF_PAGE_SIZE - 1) / BUF_PAGE_SIZE * BUF_PAGE_SIZE;
  for (unsigned cpu = 0; cpu < nr; cpu++) {
    u64 size = s.cpus[cpu].pages.size() * BUF_PAGE_SIZE;
    w.num<u64>(size ? data : 0);
    w.num<u64>(size);
    data += size;
  }
  w.out.resize((w.out.size() + BUF_PAGE_SIZE - 1) / BUF_PAGE_SIZE * BUF_PAGE_SIZE, '\0');
  for (const trace_cpu_pages& c : s.cpus)
    for (const buffer_data_page& pg : c.pages) {
      std::size_t at = w.out.size();
      w.bytes(&pg, sizeof(pg));
      // What lies beyond the commit is stale: zero it, so that the file says nothing more.
      std::size_t used =
          BUF_PAGE_HDR_SIZE + (pg.commit & RB_COMMIT_MASK) + (pg.commit & RB_MISSED_STORED ? 8 : 0);
      std::memset(w.out.data() + at + used, 0, BUF_PAGE_SIZE - used);
    }
  return w.out;
}

// ---- Reading ------------------------------------------------------------------------------------

namespace {

struct reader {
  std::string_view in;
  std::size_t at = 0;
  bool ok = true;
  bool take(void* p, std::size_t n) {
    if (!ok || in.size() - at < n) return ok = false;
    std::memcpy(p, in.data() + at, n);
    at += n;
    return true;
  }
  template <class T>
  T num() {
    T v{};
    take(&v, sizeof(v));
    return v;
  }
  std::string cstr() {
    std::size_t end = in.find('\0', at);
    if (!ok || end == std::string_view::npos) {
      ok = false;
      return {};
    }
    std::string s(in.substr(at, end - at));
    at = end + 1;
    return s;
  }
  std::string blob(u64 n) {
    if (!ok || in.size() - at < n) {
      ok = false;
      return {};
    }
    std::string s(in.substr(at, n));
    at += n;
    return s;
  }
};

// "name: X\nID: N\n..." of a format file.
bool format_name_id(const std::string& fmt, std::string* name, unsigned* id) {
  unsigned v;
  char buf[128];
  if (std::sscanf(fmt.c_str(), "name: %127s ID: %u", buf, &v) != 2) return false;
  *name = buf;
  *id = v;
  return true;
}

}  // namespace

int trace_dat_report(std::string_view file, std::string* out) {
  out->clear();
  reader r{file};
  char head[12];
  auto fail = [&](const char* why) {
    *out = std::string("trace.dat: ") + why + "\n";
    return -EINVAL;
  };
  if (!r.take(head, 12) || std::memcmp(head, magic, 10) != 0 || head[10] != '6' || head[11])
    return fail("not a trace-cmd file of version 6");
  auto endian = r.num<std::uint8_t>();
  auto long_size = r.num<std::uint8_t>();
  auto page_size = r.num<u32>();
  if (endian != 0 || long_size != 8 || page_size != BUF_PAGE_SIZE)
    return fail("not a little-endian 64-bit file with 4 KiB pages");
  if (r.cstr() != "header_page") return fail("no header_page");
  r.blob(r.num<u64>());
  if (r.cstr() != "header_event") return fail("no header_event");
  r.blob(r.num<u64>());

  // The file's event ids, mapped to cpustop's events by system and name.
  std::map<unsigned, const trace_event_call*> by_id;
  for (u32 n = r.num<u32>(); r.ok && n; n--) r.blob(r.num<u64>());
  for (u32 systems = r.num<u32>(); r.ok && systems; systems--) {
    std::string sys = r.cstr();
    for (u32 n = r.num<u32>(); r.ok && n; n--) {
      std::string name, fmt = r.blob(r.num<u64>());
      unsigned id;
      if (!format_name_id(fmt, &name, &id)) continue;
      for (const trace_event_call* c : trace_event_list())
        if (sys == c->system && name == c->name) by_id[id] = c;
    }
  }
  std::map<unsigned long, std::string> syms;
  std::string ks = r.blob(r.num<u32>());
  for (std::size_t pos = 0; pos < ks.size();) {
    std::size_t end = ks.find('\n', pos);
    if (end == std::string::npos) end = ks.size();
    unsigned long addr;
    char type, name[512];
    if (std::sscanf(ks.substr(pos, end - pos).c_str(), "%lx %c %511s", &addr, &type, name) == 3)
      syms[addr] = name;
    pos = end + 1;
  }
  r.blob(r.num<u32>());  // printk formats
  trace_snapshot s;
  std::string cmdlines = r.blob(r.num<u64>());
  for (std::size_t pos = 0; pos < cmdlines.size();) {
    std::size_t end = cmdlines.find('\n', pos);
    if (end == std::string::npos) end = cmdlines.size();
    std::string line = cmdlines.substr(pos, end - pos);
    std::size_t sp = line.find(' ');
    if (sp != std::string::npos) s.comms[std::atoi(line.c_str())] = line.substr(sp + 1);
    pos = end + 1;
  }
  u32 cpus = r.num<u32>();
  std::string kind = r.blob(10);
  if (kind.rfind("options", 0) == 0) {
    for (std::uint16_t opt; r.ok && (opt = r.num<std::uint16_t>()) != OPTION_DONE;)
      r.blob(r.num<u32>());
    kind = r.blob(10);
  }
  if (!r.ok || kind.rfind("flyrecord", 0) != 0) return fail("truncated or not a flyrecord file");
  s.cpus.resize(cpus);
  s.nr_cpus = cpus ? cpus - 1 : 0;
  for (u32 cpu = 0; cpu < cpus; cpu++) {
    u64 offset = r.num<u64>(), size = r.num<u64>();
    if (!r.ok || offset + size > file.size() || size % BUF_PAGE_SIZE)
      return fail("CPU data outside the file");
    s.cpus[cpu].pages.resize(size / BUF_PAGE_SIZE);
    if (size) std::memcpy(s.cpus[cpu].pages.data(), file.data() + offset, size);
  }

  // Map the file's ids to cpustop's, then print as trace-cmd report does.
  for (trace_cpu_pages& c : s.cpus)
    for (buffer_data_page& pg : c.pages)
      ring_buffer_page_for_each(pg, [&](const ring_buffer_event_view& ev) {
        if (ev.len < sizeof(trace_entry)) return;
        auto* ent = static_cast<trace_entry*>(const_cast<void*>(ev.data));
        auto it = by_id.find(ent->type);
        ent->type = it != by_id.end() ? it->second->id : 0;
      });
  *out = "cpus=" + std::to_string(cpus) + "\n";
  trace_sym_use(&syms);
  for (const trace_event_ref& e : trace_snapshot_events(s)) {
    char line[160];
    if (e.lost == ~0ull)
      *out += "CPU:" + std::to_string(e.cpu) + " [EVENTS DROPPED]\n";
    else if (e.lost)
      *out += "CPU:" + std::to_string(e.cpu) + " [" + std::to_string(e.lost) + " EVENTS DROPPED]\n";
    const char* name = e.call ? e.call->name : "(NULL)";
    u64 usecs = (e.ts + 500) / 1000;
    std::snprintf(line, sizeof(line), "%16s-%-5d [%03u] %6llu.%06llu: %s: %*s",
                  trace_comm_of(s, e.ent->pid).c_str(), e.ent->pid, e.cpu,
                  static_cast<unsigned long long>(usecs / 1000000),
                  static_cast<unsigned long long>(usecs % 1000000), name,
                  static_cast<int>(20 - std::min<std::size_t>(20, std::strlen(name))), "");
    *out += line + trace_event_output(e) + "\n";
  }
  trace_sym_use(nullptr);
  return 0;
}

}  // namespace cpustop

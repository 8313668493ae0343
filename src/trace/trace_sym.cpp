// The names %ps prints, shared by the ftrace text and trace.dat's kallsyms so that both show the
// same: the demangled function without its parameters or the anonymous-namespace part, and no
// white space (a kallsyms line cannot have any).
#include <cstdio>
#include <cstring>
#include <map>

#include "kernel/locking/spinlock.h"
#include "kernel/symbol.h"
#include "trace/trace_event.h"

namespace cpustop {

namespace {

struct sym {
  std::string name;
  unsigned long start;
};

raw_spinlock_t sym_lock{0, LOCK_UNCHECKED, 0};
std::map<unsigned long, sym>* sym_cache;

struct sym_note {
  const void* addr;
  char name[48];
};
constexpr std::size_t NR_SYM_NOTES = 128;
sym_note sym_notes[NR_SYM_NOTES];
std::size_t nr_sym_notes;

std::string kallsyms_safe(std::string name) {
  static const std::string anon = "(anonymous namespace)::";
  for (std::size_t at; (at = name.find(anon)) != std::string::npos;) name.erase(at, anon.size());
  std::string out;
  for (char c : name)
    if (c != ' ' && c != '\t') out += c;
  return out;
}

sym lookup(unsigned long addr) {
  for (std::size_t i = 0; i < nr_sym_notes; i++)
    if (sym_notes[i].addr == reinterpret_cast<const void*>(addr)) return {sym_notes[i].name, addr};
  std::string s = symbol_name(addr);
  if (s.rfind("0x", 0) == 0) return {s, addr};  // unknown: the address names itself
  unsigned long off = 0;
  std::size_t plus = s.rfind("+0x");
  if (plus != std::string::npos) {
    off = std::strtoul(s.c_str() + plus + 3, nullptr, 16);
    s.resize(plus);
  }
  return {kallsyms_safe(s), addr - off};
}

thread_local const std::map<unsigned long, std::string>* sym_table;

}  // namespace

void trace_sym_use(const std::map<unsigned long, std::string>* table) {
  sym_table = table;
}

std::string trace_sym_name(unsigned long addr, unsigned long* start) {
  if (sym_table) {
    auto it = sym_table->upper_bound(addr);
    if (it != sym_table->begin() &&
        (--it, std::next(it) != sym_table->end() || it->first == addr)) {
      if (start) *start = it->first;
      return it->second;
    }
    if (start) *start = 0;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "0x%lx", addr);
    return buf;
  }
  if (!addr) {
    if (start) *start = 0;
    return "0x0";
  }
  spin_irqsave_guard g(&sym_lock);
  if (!sym_cache) sym_cache = new std::map<unsigned long, sym>;
  auto it = sym_cache->find(addr);
  if (it == sym_cache->end()) it = sym_cache->emplace(addr, lookup(addr)).first;
  if (start) *start = it->second.start;
  return it->second.name;
}

void trace_sym_note(const void* addr, const char* name) {
  spin_irqsave_guard g(&sym_lock);
  std::size_t i = 0;
  while (i < nr_sym_notes && sym_notes[i].addr != addr) i++;
  if (i == NR_SYM_NOTES) return;  // full: %ps prints the address
  if (i == nr_sym_notes) nr_sym_notes++;
  sym_note& n = sym_notes[i];
  if (std::strncmp(n.name, name, sizeof(n.name) - 1) == 0 && n.addr == addr) return;
  n.addr = addr;
  std::snprintf(n.name, sizeof(n.name), "%s", name);
  std::string safe = kallsyms_safe(n.name);
  std::snprintf(n.name, sizeof(n.name), "%s", safe.c_str());
  if (sym_cache) sym_cache->erase(reinterpret_cast<unsigned long>(addr));
}

}  // namespace cpustop

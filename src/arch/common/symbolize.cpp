// Symbol names for addresses, as the kernel's kallsyms gives %ps/%pS. The executable's own
// symbol table (.symtab, which also has the internal-linkage functions: lambdas, anonymous
// namespaces) is read once from /proc/self/exe; other objects go through dladdr.
#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "arch/arch.h"

namespace cpustop::arch {

namespace {

struct ksym {
  unsigned long addr, size;
  std::string name;  // mangled
};

std::vector<ksym>* kallsyms;

int find_load_bias(dl_phdr_info* info, size_t, void* out) {
  *static_cast<unsigned long*>(out) = info->dlpi_addr;  // the first object is the executable
  return 1;
}

void load_kallsyms() {
  kallsyms = new std::vector<ksym>;
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    close(fd);
    return;
  }
  auto size = static_cast<std::size_t>(st.st_size);
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return;
  auto* base = static_cast<const char*>(map);
  auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  unsigned long bias = 0;
  dl_iterate_phdr(find_load_bias, &bias);
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
      eh->e_shoff + eh->e_shnum * sizeof(Elf64_Shdr) <= size) {
    auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
      if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
      const Elf64_Shdr& strtab = sh[sh[i].sh_link];
      auto* syms = reinterpret_cast<const Elf64_Sym*>(base + sh[i].sh_offset);
      std::size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
      for (std::size_t k = 0; k < n; k++) {
        if (ELF64_ST_TYPE(syms[k].st_info) != STT_FUNC || !syms[k].st_value) continue;
        if (syms[k].st_name >= strtab.sh_size) continue;
        kallsyms->push_back(
            {bias + syms[k].st_value, syms[k].st_size, base + strtab.sh_offset + syms[k].st_name});
      }
    }
  }
  munmap(map, size);
  std::sort(kallsyms->begin(), kallsyms->end(),
            [](const ksym& a, const ksym& b) { return a.addr < b.addr; });
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && d ? d : mangled;
  std::free(d);
  return name;
}

// "ns::fn(int, char)" -> "ns::fn": keep the function, drop the parameter list.
std::string strip_params(std::string name) {
  int depth = 0;
  for (std::size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c == '<') depth++;
    if (c == '>') depth--;
    if (c == '(' && depth == 0) {
      if (name.compare(i, 21, "(anonymous namespace)") == 0) {
        i += 20;
        continue;
      }
      name.resize(i);
      break;
    }
  }
  return name;
}

std::string with_offset(std::string name, unsigned long off) {
  if (off) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "+0x%lx", off);
    name += buf;
  }
  return name;
}

}  // namespace

std::string symbolize(unsigned long addr) {
  static std::once_flag once;
  std::call_once(once, load_kallsyms);
  if (addr && !kallsyms->empty()) {
    auto it = std::upper_bound(kallsyms->begin(), kallsyms->end(), addr,
                               [](unsigned long a, const ksym& s) { return a < s.addr; });
    if (it != kallsyms->begin()) {
      --it;
      if (addr < it->addr + std::max(it->size, 1ul))
        return with_offset(strip_params(demangle(it->name.c_str())), addr - it->addr);
    }
  }
  Dl_info info;
  if (addr && dladdr(reinterpret_cast<void*>(addr), &info) && info.dli_sname)
    return with_offset(strip_params(demangle(info.dli_sname)),
                       addr - reinterpret_cast<unsigned long>(info.dli_saddr));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%lx", addr);
  return buf;
}

}  // namespace cpustop::arch

// One OS thread per logical CPU, optionally pinned, and the thread slot for per-CPU data.
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "arch/arch.h"
#include "arch/native/native.h"

namespace cpustop::arch {

namespace {

thread_local void* tls_slot[NR_SLOTS] __attribute__((tls_model("initial-exec"))) = {};

std::ptrdiff_t compute_tls_offset() {
#if defined(__x86_64__)
  char* tp;
  asm volatile("movq %%fs:0, %0" : "=r"(tp));
  return reinterpret_cast<char*>(&tls_slot[0]) - tp;
#else
  return 0;
#endif
}

struct cpu_thread {
  pthread_t handle{};
  std::atomic<pid_t> tid{0};
  int hw_cpu = -1;
  unsigned cpu = 0;
  void (*entry)(unsigned) = nullptr;
};

cpu_thread* threads;
unsigned nr_threads;

// The hardware CPUs the process may use, read once (CPU threads are pinned later).
const std::vector<int>& allowed_hw_cpus() {
  static const std::vector<int> cpus = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set)) cpus.push_back(i);
    }
    if (cpus.empty()) cpus.push_back(0);
    return cpus;
  }();
  return cpus;
}

void* cpu_thread_main(void* arg) {
  auto* t = static_cast<cpu_thread*>(arg);
  char name[16];
  std::snprintf(name, sizeof(name), "cpustop/%u", t->cpu);
  pthread_setname_np(pthread_self(), name);
  // Halted CPUs sleep with a timeout for their next timer: keep the host's slack out of it.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  // A socket write to a reset peer must give EPIPE, not kill the process (sendfile cannot be
  // told MSG_NOSIGNAL).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  steal_clock();  // opens this thread's schedstat now, not in its first tick
  t->tid.store(static_cast<pid_t>(syscall(SYS_gettid)), std::memory_order_release);
  t->entry(t->cpu);
  return nullptr;
}

}  // namespace

std::ptrdiff_t tls_slot_offset;

// Before any other static constructor, so that no code can read the slot through offset 0.
__attribute__((constructor(101))) static void init_tls_slot_offset() {
  tls_slot_offset = compute_tls_offset();
}

void* thread_area() {
  alignas(64) static thread_local unsigned char area[THREAD_AREA_SIZE];
  return area;
}

void* this_cpu_slot_slow(int slot) {
  return tls_slot[slot];
}
void set_this_cpu_slot_slow(int slot, void* p) {
  tls_slot[slot] = p;
}

unsigned nr_hw_cpus() {
  return static_cast<unsigned>(allowed_hw_cpus().size());
}

int cpu_threads_create(unsigned nr, bool pin, void (*entry)(unsigned)) {
  if (threads) return -EBUSY;
  const std::vector<int>& hw = allowed_hw_cpus();
  threads = new cpu_thread[nr];
  nr_threads = nr;
  for (unsigned i = 0; i < nr; i++) {
    cpu_thread& t = threads[i];
    t.cpu = i;
    t.entry = entry;
    t.hw_cpu = (pin && nr <= hw.size()) ? hw[i] : -1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (t.hw_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(t.hw_cpu, &set);
      pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    }
    int err = pthread_create(&t.handle, &attr, cpu_thread_main, &t);
    pthread_attr_destroy(&attr);
    if (err) {
      std::fprintf(stderr, "cpustop: cannot create the thread of cpu%u: error %d\n", i, err);
      // The threads already started wait for a bring-up that will not come: the caller must
      // release them through its own protocol before joining, so we only report here.
      nr_threads = i;
      return -err;
    }
  }
  return 0;
}

void cpu_threads_join() {
  if (!threads) return;
  for (unsigned i = 0; i < nr_threads; i++) pthread_join(threads[i].handle, nullptr);
  delete[] threads;
  threads = nullptr;
  nr_threads = 0;
}

int cpu_thread_hw_cpu(unsigned cpu) {
  return threads && cpu < nr_threads ? threads[cpu].hw_cpu : -1;
}

pid_t cpu_thread_tid(unsigned cpu) {
  if (!threads || cpu >= nr_threads) return 0;
  return threads[cpu].tid.load(std::memory_order_acquire);
}

}  // namespace cpustop::arch

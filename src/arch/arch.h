// The platform boundary. Everything cpustop needs from the operating system goes through the
// functions declared here; no file outside src/arch/ calls the OS or reads the wall clock.
// The kernel layer above sees logical CPUs, a clock, futex-style waits, IPIs, stacks and
// context switches, and nothing else, so that the simulator (sim/) stands in for native/.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

struct sockaddr;
struct iovec;
struct pollfd;

namespace cpustop::arch {

// ---- Clock --------------------------------------------------------------------------------

// Calibrates local_clock(); idempotent, called by boot().
void clock_init();
// The clock source's name for the boot log ("tsc", "monotonic", "sim").
const char* clocksource_name();

// Nanoseconds since the process calibrated its clock. Monotonic on each CPU and consistent
// across CPUs to within the hardware's TSC skew, like the kernel's sched_clock(). Inline, from
// the platform's header below.
inline std::uint64_t local_clock();
// The body of a busy-wait loop (the x86 PAUSE; a scheduling point in the simulator).
inline void cpu_relax();

// ---- Blocking --------------------------------------------------------------------------------

// Blocks the calling OS thread while *word == val, for at most timeout_ns (negative: no limit).
// Returns 0 when woken or when the value already differed, -ETIMEDOUT, or -EINTR.
int futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t val, std::int64_t timeout_ns = -1);
// Wakes up to nr threads blocked on word.
void futex_wake(std::atomic<std::uint32_t>* word, int nr);
// Gives the host CPU to another OS thread (used after bounded spinning).
void os_yield();
// Sleeps the calling OS thread (only for threads outside cpustop's CPUs).
void os_sleep_ns(std::uint64_t ns);
// Writes to the process's standard error (the kernel console).
void console_write(const char* s, std::size_t len);
// Ends the process after a BUG or panic, leaving a core dump where the host allows one.
[[noreturn]] void panic_halt();

// ---- Logical CPUs ----------------------------------------------------------------------------

// Number of hardware CPUs this process may run on.
unsigned nr_hw_cpus();

// Creates one OS thread per logical CPU, named "cpustop/N", each running entry(N). When pin is
// true (and N fits the hardware) logical CPU N is pinned to the N-th allowed hardware CPU.
// Returns 0 or a negative errno; on failure no thread is left running.
int cpu_threads_create(unsigned nr, bool pin, void (*entry)(unsigned cpu));
// Waits for every CPU thread to return from entry().
void cpu_threads_join();
// Whether logical CPU `cpu` is pinned, and to which hardware CPU (-1 if not).
int cpu_thread_hw_cpu(unsigned cpu);

// The paravirt steal clock of the calling CPU thread: ns it has spent runnable on the host but
// waiting for a hardware CPU (the host's schedstat run_delay), monotonic; 0 where the host does
// not say. A few hundred ns: call it from the tick, not from hot paths.
std::uint64_t steal_clock();

// Per-CPU-thread slots holding the kernel layer's `current` task (and the C++ runtime's
// exception globals). A fiber interrupted and resumed on another CPU thread must never combine
// one thread's pointer with another thread's slot, so the platform reads a slot in one step.
enum : int { SLOT_CURRENT = 0, SLOT_EH_GLOBALS = 1, NR_SLOTS = 2 };
inline void* this_cpu_slot(int slot = SLOT_CURRENT);
inline void set_this_cpu_slot(void* p, int slot = SLOT_CURRENT);

// Zeroed storage private to the calling thread when it is not one of cpustop's CPUs: per OS
// thread natively, per host-side thread in the simulator (where all share one OS thread).
inline constexpr std::size_t THREAD_AREA_SIZE = 2048;
void* thread_area();

// Whether the simulator was asked to re-introduce bug class f (kernel/fault_inject.h). Always
// false natively, where the check compiles away.
inline bool fault_injected(unsigned f);

// ---- Host threads -----------------------------------------------------------------------------

// The calling OS thread as the host sees it: its thread id and its name (what
// /proc/<pid>/task/<tid>/comm shows), read once per thread. Trace events recorded by threads
// outside the logical CPUs carry them.
struct host_thread_id {
  int tid = 0;
  char comm[16] = {};
};
const host_thread_id& this_host_thread();

// ---- Topology ----------------------------------------------------------------------------------

// Where a hardware CPU sits: its core, its last-level cache and its NUMA node (ids comparable
// between CPUs of this machine). 0, or -ENODEV when hwloc cannot tell.
struct hw_cpu_topology {
  int core = -1, llc = -1, node = -1;
};
int hw_topology(int hw_cpu, hw_cpu_topology* out);

// ---- Interrupts ------------------------------------------------------------------------------

// Called in signal context on the interrupted CPU thread, with the interrupted program counter.
using irq_handler_t = void (*)(std::uintptr_t pc);
// Installs handler for the asynchronous interrupt (SIGURG, SA_NODEFER so that the handler may
// switch away and be resumed later, possibly on another OS thread).
void irq_install(irq_handler_t handler);
void irq_uninstall();
// Interrupts logical CPU `cpu` (a thread signal). Async-signal-safe.
void irq_raise(unsigned cpu);
// True when pc lies in the application's own code, where a switch is safe; false inside libc,
// libstdc++, the dynamic loader or any other shared object, which may hold internal locks.
bool pc_in_app_text(std::uintptr_t pc);

// ---- Halt and I/O readiness ------------------------------------------------------------------

// Each logical CPU has a readiness set (its "device"): OS descriptors whose readiness that CPU
// collects, edge-triggered. A halted idle CPU waits for its set, for cpu_kick() and for its
// next timer in one place, so that readiness wakes it without a hop through another thread.
// The event bits are poll(2)'s.
enum : std::uint32_t {
  IO_IN = 0x001,
  IO_PRI = 0x002,
  IO_OUT = 0x004,
  IO_ERR = 0x008,
  IO_HUP = 0x010,
  IO_RDHUP = 0x2000,
};

// Creates the readiness sets of nr logical CPUs (before their threads start). 0 or -errno; on
// failure cpu_halt() falls back to a futex wait.
int io_init(unsigned nr);
// After the CPU threads are gone.
void io_exit();
// Adds fd to cpu's set (input, output, errors and hang-ups, edge-triggered): each change of
// its readiness is reported once by io_poll() with `token`. Adding reports the readiness the
// descriptor already has. 0 or -errno.
int io_arm(unsigned cpu, int fd, std::uint64_t token);
// Removes fd from cpu's set. Once it returns no io_poll() started later reports fd. 0 or -errno.
int io_disarm(unsigned cpu, int fd);
// Whether cpu's set (or a set it collects for an offline CPU) holds anything. Lockless.
bool io_active(unsigned cpu);
// Collects the events of cpu's set, and of the sets it collects for offline CPUs, without
// blocking: fn(token, events) for each, on the calling thread. Returns how many.
int io_poll(unsigned cpu, void (*fn)(std::uint64_t token, std::uint32_t events));
// CPU hotplug: CPU `to` collects `from`'s set (and those `from` collected) while `from` is
// offline; to < 0 gives them back to `from`.
void io_adopt(unsigned from, int to);

enum : int { HALT_IO = 1 };  // cpu_halt(): readiness is pending on the CPU's set
// The halt of logical CPU `cpu`'s idle loop, on its own thread: blocks while *word == val,
// until cpu_kick(), readiness on its set, or timeout_ns (negative: no limit). Returns HALT_IO
// or 0.
int cpu_halt(unsigned cpu, std::atomic<std::uint32_t>* word, std::uint32_t val,
             std::int64_t timeout_ns);
// Ends cpu_halt() on cpu after the caller changed *word. Any thread; async-signal-safe.
void cpu_kick(unsigned cpu, std::atomic<std::uint32_t>* word);

// ---- Sockets -----------------------------------------------------------------------------------

// The socket calls src/net is built on. Every descriptor they create is non-blocking and none of
// them blocks; the kernel layer sleeps on readiness instead. Results are >= 0 or -errno. Writes
// never raise SIGPIPE (they return -EPIPE).
int sock_socket(int domain, int type, int protocol);  // type may carry SOCK_CLOEXEC
int sock_accept(int fd, ::sockaddr* addr, unsigned* addrlen, bool cloexec);
int sock_bind(int fd, const ::sockaddr* addr, unsigned addrlen);
int sock_listen(int fd, int backlog);
int sock_connect(int fd, const ::sockaddr* addr, unsigned addrlen);  // -EINPROGRESS: wait IO_OUT
int sock_setsockopt(int fd, int level, int name, const void* val, unsigned len);
int sock_getsockopt(int fd, int level, int name, void* val, unsigned* len);
int sock_getname(int fd, ::sockaddr* addr, unsigned* addrlen, bool peer);
long sock_recv(int fd, void* buf, std::size_t len, int flags);
long sock_send(int fd, const void* buf, std::size_t len, int flags);
long sock_readv(int fd, const ::iovec* iov, int iovcnt);
long sock_writev(int fd, const ::iovec* iov, int iovcnt);
// sendfile(2) from file in_fd (which may block on the disk) to socket out_fd.
long sock_sendfile(int out_fd, int in_fd, long* offset, std::size_t count);
int sock_shutdown(int fd, int how);
int sock_close(int fd);
// poll(2) with a zero timeout: the readiness the descriptors have now.
int sock_poll_now(::pollfd* fds, unsigned nfds);
// The most descriptors the process may open (RLIMIT_NOFILE's hard limit, at most 1 << 20).
unsigned nr_open();

// ---- Offload pool ------------------------------------------------------------------------------

// Host threads for calls that block without readiness (the kernel's io-wq). A work is queued by
// any thread and runs fn(work) once on a pool thread, outside every logical CPU; the pool starts
// threads on demand (up to 64) and lets idle ones exit.
struct offload_work {
  offload_work* next = nullptr;
  void (*fn)(offload_work*) = nullptr;
};
// Never blocks. 0, or -EAGAIN when no thread is idle and none can be started.
int offload_queue(offload_work* work);
// Joins the pool's threads once every queued work has run.
void offload_exit();

// ---- Clock event device ------------------------------------------------------------------------

// Starts one OS thread that calls handler() repeatedly. handler returns the local_clock() time
// at which it wants to run next; clockevent_kick() makes it run sooner.
int clockevent_start(std::uint64_t (*handler)());
void clockevent_kick();
void clockevent_stop();

// The demangled name of the function at or containing addr ("0x..." if unknown). Slow.
std::string symbolize(unsigned long addr);

// ---- Stacks ----------------------------------------------------------------------------------

struct stack {
  void* base = nullptr;  // lowest usable address (just above the guard page)
  std::size_t size = 0;  // usable bytes
};
std::size_t page_size();
// Maps a stack of at least `size` bytes with a guard page below it. 0 or -ENOMEM.
int stack_alloc(std::size_t size, stack* out);
void stack_free(stack* s);
// Readies a stack, fresh or pooled, for a new task: under ASan, clears the poison that a dead
// task's frames (which never returned) left on it. Free otherwise.
void stack_reuse(const stack& s);

// ---- Context switch --------------------------------------------------------------------------

// The saved machine context of a task that is not running, plus what the sanitizers and the C++
// runtime need to follow a switch.
struct context {
  void* fctx = nullptr;
  void (*entry)(void*) = nullptr;  // set until the context first runs
  const void* stack_bottom = nullptr;
  std::size_t stack_size = 0;
  void* tsan_fiber = nullptr;
  bool owns_fiber = false;    // made by context_make (not an OS thread's own context)
  void* eh_caught = nullptr;  // libstdc++ __cxa_eh_globals, per fiber
  unsigned eh_uncaught = 0;
};

// Records the calling OS thread's own stack as the context of its idle task.
void context_init_thread(context* ctx);
// Prepares ctx to start entry(data) on stack s at the first switch to it.
void context_make(context* ctx, const stack& s, void (*entry)(void* data));
// Suspends the caller into prev and resumes next, passing data. Returns the data passed by the
// switch that later resumes prev. prev_dead: prev will never be resumed.
void* context_switch(context* prev, context* next, void* data, bool prev_dead = false);
// Releases what context_make acquired (not the stack). Never on the running context.
void context_destroy(context* ctx);

}  // namespace cpustop::arch

// The platform's inline fast paths: local_clock(), cpu_relax() and the thread slots.
#if defined(CPUSTOP_ARCH_SIM)
#include "arch/sim/inline.h"
#else
#include "arch/native/inline.h"
#endif

// Trace buffers and output. Each CPU writes its own ring under a leaf lock (uncontended except
// against readers); threads outside cpustop share one extra ring.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cpustop/trace.h"
#include "kernel/locking/spinlock.h"
#include "kernel/symbol.h"
#include "kernel/task.h"
#include "kernel/time/jiffies.h"
#include "trace/events.h"
#include "trace/trace.h"

namespace cpustop {

std::atomic<std::uint64_t> trace_enabled_mask{0};

namespace {

struct entry_common {
  u64 ts;
  std::uint16_t type;
  std::int16_t cpu;
  char flags[6];
  pid_t pid;
  char comm[TASK_COMM_LEN];
};

struct task_fields {
  char comm[TASK_COMM_LEN];
  pid_t pid;
  int prio;
};

struct trace_entry {
  entry_common c;
  union {
    struct {
      task_fields prev, next;
      unsigned prev_state;
      bool preempt;
    } sw;
    struct {
      task_fields t;
      int target_cpu;
    } wake;
    struct {
      task_fields t;
      int orig_cpu, dest_cpu;
    } migrate;
    struct {
      task_fields parent, child;
    } fork;
    struct {
      task_fields t;
    } exit;
    struct {
      unsigned cpu;
      unsigned long fn, caller;
      int ret;
    } stop;
    struct {
      unsigned cpu;
      int state;
      const char* name;
      int ret;
    } hp;
    struct {
      unsigned vec;
    } softirq;
    struct {
      const void* work;
      unsigned long fn;
    } wq;
  };
};

struct trace_buffer {
  raw_spinlock_t lock{0, LOCK_TRACE, 0};
  std::unique_ptr<trace_entry[]> entries;
  u64 head = 0;
  u64 overrun = 0;
};

struct trace_array {
  std::size_t nr_buffers = 0;
  std::size_t size = 0;
  std::unique_ptr<trace_buffer[]> buffers;
};

std::size_t buffer_entries = 16384;
std::atomic<trace_array*> global_trace{nullptr};

const char* const event_names[] = {
#define X(sys, name) #sys ":" #name,
    CPUSTOP_TRACE_EVENTS(X)
#undef X
};

const char* softirq_names[] = {"HI",       "TIMER",   "NET_TX", "NET_RX",  "BLOCK",
                               "IRQ_POLL", "TASKLET", "SCHED",  "HRTIMER", "RCU"};

void set_comm(char* dst, const char* src) {
  std::size_t n = strnlen(src, TASK_COMM_LEN - 1);
  std::memcpy(dst, src, n);
  dst[n] = '\0';
}

void fill_task(task_fields* f, const task_struct* p) {
  std::memcpy(f->comm, p->comm, TASK_COMM_LEN);
  f->pid = p->pid;
  f->prio = p->prio;
}

// Reserves the next entry of this CPU's ring with the common fields filled; the caller fills the
// rest and calls trace_commit().
trace_entry* trace_reserve(trace_event_id id, trace_buffer** out, unsigned long* flags) {
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  if (!tr) return nullptr;
  thread_info* ti = current_thread_info();
  int preempt = ti->preempt_count;
  int cpu = ti->cpu.load(std::memory_order_relaxed);
  task_struct* curr = get_current();
  char fl[6];
  cpu_hot* h = this_cpu();
  bool hard = preempt & HARDIRQ_MASK, soft = preempt & SOFTIRQ_MASK;
  fl[0] = ti->irqs_off ? 'd' : '.';
  fl[1] = h->need_resched.load(std::memory_order_relaxed) ? 'N' : '.';
  fl[2] = hard && soft ? 'H' : hard ? 'h' : soft ? 's' : '.';
  int depth = preempt & PREEMPT_MASK;
  fl[3] = depth ? "0123456789abcdef"[std::min(depth, 15)] : '.';
  int md = curr ? curr->migration_disabled.load(std::memory_order_relaxed) : 0;
  fl[4] = md ? "0123456789abcdef"[std::min(md, 15)] : '.';
  fl[5] = '\0';

  trace_buffer* b = &tr->buffers[cpu >= 0 && static_cast<std::size_t>(cpu) < tr->nr_buffers - 1
                                     ? cpu
                                     : tr->nr_buffers - 1];
  *flags = __raw_spin_lock_irqsave(&b->lock);
  if (b->head >= tr->size) b->overrun++;
  trace_entry* e = &b->entries[b->head++ % tr->size];
  e->c.ts = arch::local_clock() - boot_clock;
  e->c.type = id;
  e->c.cpu = static_cast<std::int16_t>(cpu);
  std::memcpy(e->c.flags, fl, sizeof(fl));
  if (curr) {
    e->c.pid = curr->pid;
    set_comm(e->c.comm, is_idle_task(curr) ? "<idle>" : curr->comm);
  } else {
    e->c.pid = -1;
    set_comm(e->c.comm, "<...>");
  }
  *out = b;
  return e;
}

void trace_commit(trace_buffer* b, unsigned long flags) {
  __raw_spin_unlock_irqrestore(&b->lock, flags);
}

template <class Fill>
void record(trace_event_id id, Fill fill) {
  trace_buffer* b;
  unsigned long flags;
  if (trace_entry* e = trace_reserve(id, &b, &flags)) {
    fill(e);
    trace_commit(b, flags);
  }
}

char state_char(unsigned state) {
  if (state == TASK_RUNNING) return 'R';
  if (state & TASK_PARKED) return 'P';
  if (state == TASK_IDLE) return 'I';
  if (state & TASK_INTERRUPTIBLE) return 'S';
  if (state & TASK_UNINTERRUPTIBLE) return 'D';
  if (state & TASK_DEAD) return 'X';
  return 'R';
}

std::string format_fields(const trace_entry& e) {
  char buf[1024];
  switch (e.c.type) {
    case TE_sched_switch: {
      const auto& s = e.sw;
      std::snprintf(buf, sizeof(buf),
                    "prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%c%s ==> next_comm=%s "
                    "next_pid=%d next_prio=%d",
                    s.prev.comm, s.prev.pid, s.prev.prio, state_char(s.prev_state),
                    s.preempt && s.prev_state == TASK_RUNNING ? "+" : "", s.next.comm, s.next.pid,
                    s.next.prio);
      break;
    }
    case TE_sched_waking:
    case TE_sched_wakeup:
    case TE_sched_wakeup_new:
      std::snprintf(buf, sizeof(buf), "comm=%s pid=%d prio=%d target_cpu=%03d", e.wake.t.comm,
                    e.wake.t.pid, e.wake.t.prio, e.wake.target_cpu);
      break;
    case TE_sched_migrate_task:
      std::snprintf(buf, sizeof(buf), "comm=%s pid=%d prio=%d orig_cpu=%d dest_cpu=%d",
                    e.migrate.t.comm, e.migrate.t.pid, e.migrate.t.prio, e.migrate.orig_cpu,
                    e.migrate.dest_cpu);
      break;
    case TE_sched_process_fork:
      std::snprintf(buf, sizeof(buf), "comm=%s pid=%d child_comm=%s child_pid=%d",
                    e.fork.parent.comm, e.fork.parent.pid, e.fork.child.comm, e.fork.child.pid);
      break;
    case TE_sched_process_exit:
      std::snprintf(buf, sizeof(buf), "comm=%s pid=%d prio=%d", e.exit.t.comm, e.exit.t.pid,
                    e.exit.t.prio);
      break;
    case TE_cpu_stop_queue:
      std::snprintf(buf, sizeof(buf), "cpu=%u fn=%s caller=%s", e.stop.cpu,
                    symbol_name(e.stop.fn).c_str(), symbol_name(e.stop.caller).c_str());
      break;
    case TE_cpu_stop_start:
      std::snprintf(buf, sizeof(buf), "fn=%s", symbol_name(e.stop.fn).c_str());
      break;
    case TE_cpu_stop_finish:
      std::snprintf(buf, sizeof(buf), "fn=%s ret=%d", symbol_name(e.stop.fn).c_str(), e.stop.ret);
      break;
    case TE_cpuhp_enter:
      std::snprintf(buf, sizeof(buf), "cpu: %04u target: %3d step: %3d (%s)", e.hp.cpu, e.hp.state,
                    e.hp.state, e.hp.name ? e.hp.name : "");
      break;
    case TE_cpuhp_exit:
      std::snprintf(buf, sizeof(buf), "cpu: %04u  state: %3d step: %3d ret: %d", e.hp.cpu,
                    e.hp.state, e.hp.state, e.hp.ret);
      break;
    case TE_softirq_raise:
    case TE_softirq_entry:
    case TE_softirq_exit:
      std::snprintf(buf, sizeof(buf), "vec=%u [action=%s]", e.softirq.vec,
                    e.softirq.vec < std::size(softirq_names) ? softirq_names[e.softirq.vec] : "?");
      break;
    case TE_workqueue_execute_start:
    case TE_workqueue_execute_end:
      std::snprintf(buf, sizeof(buf), "work struct %p: function %s", e.wq.work,
                    symbol_name(e.wq.fn).c_str());
      break;
    default:
      buf[0] = '\0';
  }
  return buf;
}

}  // namespace

// ---- Tracepoints -------------------------------------------------------------------------------

void __trace_sched_switch(bool preempt, task_struct* prev, task_struct* next, unsigned prev_state) {
  record(TE_sched_switch, [&](trace_entry* e) {
    fill_task(&e->sw.prev, prev);
    fill_task(&e->sw.next, next);
    e->sw.prev_state = prev_state;
    e->sw.preempt = preempt;
  });
}

void __trace_sched_wakeup(trace_event_id id, task_struct* p) {
  record(id, [&](trace_entry* e) {
    fill_task(&e->wake.t, p);
    e->wake.target_cpu = task_cpu(p);
  });
}

void __trace_sched_migrate_task(task_struct* p, int dest_cpu) {
  record(TE_sched_migrate_task, [&](trace_entry* e) {
    fill_task(&e->migrate.t, p);
    e->migrate.orig_cpu = task_cpu(p);
    e->migrate.dest_cpu = dest_cpu;
  });
}

void __trace_sched_process_fork(task_struct* parent, task_struct* child) {
  record(TE_sched_process_fork, [&](trace_entry* e) {
    if (parent) {
      fill_task(&e->fork.parent, parent);
    } else {
      set_comm(e->fork.parent.comm, "<...>");
      e->fork.parent.pid = -1;
    }
    fill_task(&e->fork.child, child);
  });
}

void __trace_sched_process_exit(task_struct* p) {
  record(TE_sched_process_exit, [&](trace_entry* e) { fill_task(&e->exit.t, p); });
}

void __trace_cpu_stop(trace_event_id id, unsigned cpu, unsigned long fn, unsigned long caller,
                      int ret) {
  record(id, [&](trace_entry* e) { e->stop = {cpu, fn, caller, ret}; });
}

void __trace_cpuhp(trace_event_id id, unsigned cpu, int state, const char* name, int ret) {
  record(id, [&](trace_entry* e) { e->hp = {cpu, state, name, ret}; });
}

void __trace_softirq(trace_event_id id, unsigned vec) {
  record(id, [&](trace_entry* e) { e->softirq.vec = vec; });
}

void __trace_workqueue(trace_event_id id, const void* work, unsigned long fn) {
  record(id, [&](trace_entry* e) { e->wq = {work, fn}; });
}

// ---- Control and output
// ----------------------------------------------------------------------------

void trace_boot_init(unsigned nr_cpus) {
  auto* tr = new trace_array;
  tr->nr_buffers = nr_cpus + 1;
  tr->size = buffer_entries;
  tr->buffers = std::make_unique<trace_buffer[]>(tr->nr_buffers);
  for (std::size_t i = 0; i < tr->nr_buffers; i++)
    tr->buffers[i].entries = std::make_unique<trace_entry[]>(tr->size);
  delete global_trace.exchange(tr, std::memory_order_acq_rel);
}

void trace_boot_exit() {}

std::vector<std::string> trace_event_names() {
  return {std::begin(event_names), std::end(event_names)};
}

int trace_event_enable(std::string_view name, bool on) {
  std::uint64_t bits = 0;
  for (int i = 0; i < NR_TRACE_EVENTS; i++) {
    std::string_view full = event_names[i];
    std::string_view sys = full.substr(0, full.find(':'));
    std::string_view ev = full.substr(full.find(':') + 1);
    if (name == "all" || name == full || name == ev ||
        (name.size() > 2 && name.substr(name.size() - 2) == ":*" &&
         name.substr(0, name.size() - 2) == sys))
      bits |= std::uint64_t{1} << i;
  }
  if (!bits) return -ENOENT;
  if (on)
    trace_enabled_mask.fetch_or(bits, std::memory_order_acq_rel);
  else
    trace_enabled_mask.fetch_and(~bits, std::memory_order_acq_rel);
  return 0;
}

bool trace_event_enabled(std::string_view name) {
  for (int i = 0; i < NR_TRACE_EVENTS; i++) {
    std::string_view full = event_names[i];
    if (name == full || name == full.substr(full.find(':') + 1))
      return (trace_enabled_mask.load() >> i) & 1;
  }
  return false;
}

void trace_set_buffer_entries(std::size_t entries) {
  buffer_entries = std::max<std::size_t>(entries, 16);
}

void trace_clear() {
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  if (!tr) return;
  for (std::size_t i = 0; i < tr->nr_buffers; i++) {
    spin_irqsave_guard g(&tr->buffers[i].lock);
    tr->buffers[i].head = 0;
    tr->buffers[i].overrun = 0;
  }
}

std::uint64_t trace_overruns() {
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  std::uint64_t n = 0;
  if (!tr) return 0;
  for (std::size_t i = 0; i < tr->nr_buffers; i++) {
    spin_irqsave_guard g(&tr->buffers[i].lock);
    n += tr->buffers[i].overrun;
  }
  return n;
}

std::vector<trace_record> trace_records() {
  std::vector<trace_entry> raw;
  trace_array* tr = global_trace.load(std::memory_order_acquire);
  if (!tr) return {};
  for (std::size_t i = 0; i < tr->nr_buffers; i++) {
    trace_buffer* b = &tr->buffers[i];
    spin_irqsave_guard g(&b->lock);
    u64 first = b->head > tr->size ? b->head - tr->size : 0;
    for (u64 n = first; n < b->head; n++) raw.push_back(b->entries[n % tr->size]);
  }
  std::stable_sort(raw.begin(), raw.end(),
                   [](const trace_entry& a, const trace_entry& b) { return a.c.ts < b.c.ts; });
  std::vector<trace_record> out;
  out.reserve(raw.size());
  for (const trace_entry& e : raw) {
    std::string_view full = event_names[e.c.type];
    out.push_back({e.c.ts, e.c.cpu, e.c.pid,
                   std::string(e.c.comm, strnlen(e.c.comm, TASK_COMM_LEN)), e.c.flags,
                   std::string(full.substr(full.find(':') + 1)), format_fields(e)});
  }
  return out;
}

std::string trace_text() {
  std::string out =
      "# tracer: nop\n"
      "#\n"
      "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
      "#              | |         |   |||||     |         |\n";
  char line[1536];
  for (const trace_record& r : trace_records()) {
    std::snprintf(line, sizeof(line), "%16s-%-7d [%03d] %s %5llu.%06llu: %s: %s\n", r.comm.c_str(),
                  r.pid, r.cpu, r.flags.c_str(),
                  static_cast<unsigned long long>(r.ts_ns / 1000000000),
                  static_cast<unsigned long long>((r.ts_ns % 1000000000) / 1000), r.event.c_str(),
                  r.fields.c_str());
    out += line;
  }
  return out;
}

}  // namespace cpustop

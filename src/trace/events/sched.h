// The scheduler's events, with the kernel's fields and formats (include/trace/events/sched.h).
// Read once per pass by trace/events.h and trace/events.cpp: no include guard on purpose.
// Laid out as the kernel lays out its event definitions, not as clang-format would.
// clang-format off
#undef TRACE_SYSTEM
#define TRACE_SYSTEM sched

#ifndef CPUSTOP_TRACE_SCHED_HELPERS
#define CPUSTOP_TRACE_SCHED_HELPERS
// The kernel's TASK_REPORT bits spelled out, so that the format's print fmt is the kernel's text.
#define TRACE_TASK_REPORT                                                                   \
  (0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | \
   0x00000040)
#define TRACE_TASK_REPORT_IDLE (TRACE_TASK_REPORT + 1)
#define TRACE_TASK_REPORT_MAX (TRACE_TASK_REPORT_IDLE << 1)
#endif

#if defined(CREATE_TRACE_POINTS) && !defined(CPUSTOP_TRACE_SCHED_ASSIGN)
#define CPUSTOP_TRACE_SCHED_ASSIGN
// prev_state as the kernel reports it: the bit of task_state_index() (S D T t X Z P I, 0 for R),
// or TASK_REPORT_MAX (R+) for a preempted task, whatever state it had set. A dying task is X
// (EXIT_DEAD), as the kernel's exiting threads are, joined or not.
inline long __trace_sched_switch_state(bool preempt, unsigned state) {
  if (preempt) return TRACE_TASK_REPORT_MAX;
  unsigned dead = state & TASK_DEAD ? static_cast<unsigned>(EXIT_DEAD) : 0u;
  unsigned index = __task_state_index(state, dead);
  return index ? 1l << (index - 1) : 0;
}
inline const char* trace_task_comm(const task_struct* p) {
  return p ? p->comm : trace_current_comm();
}
inline pid_t trace_task_pid(const task_struct* p) {
  return p ? p->pid : trace_current_pid();
}
#endif

TRACE_EVENT(sched_switch,
  TP_PROTO(bool preempt, task_struct* prev, task_struct* next, unsigned prev_state),
  TP_ARGS(preempt, prev, next, prev_state),
  TP_STRUCT__entry(
    __array(char, prev_comm, 16)
    __field(pid_t, prev_pid)
    __field(int, prev_prio)
    __field(long, prev_state)
    __array(char, next_comm, 16)
    __field(pid_t, next_pid)
    __field(int, next_prio)),
  TP_fast_assign(
    std::memcpy(__entry->prev_comm, prev->comm, TASK_COMM_LEN);
    __entry->prev_pid = prev->pid;
    __entry->prev_prio = prev->prio;
    __entry->prev_state = __trace_sched_switch_state(preempt, prev_state);
    std::memcpy(__entry->next_comm, next->comm, TASK_COMM_LEN);
    __entry->next_pid = next->pid;
    __entry->next_prio = next->prio;),
  TP_printk("prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d "
            "next_prio=%d",
    __entry->prev_comm, __entry->prev_pid, __entry->prev_prio,
    (__entry->prev_state & (TRACE_TASK_REPORT_MAX - 1))
      ? __print_flags(__entry->prev_state & (TRACE_TASK_REPORT_MAX - 1), "|",
                      { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" },
                      { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" },
                      { 0x00000040, "P" }, { 0x00000080, "I" })
      : "R",
    __entry->prev_state & TRACE_TASK_REPORT_MAX ? "+" : "",
    __entry->next_comm, __entry->next_pid, __entry->next_prio),
  TP_json(sched_switch))

DECLARE_EVENT_CLASS(sched_wakeup_template,
  TP_PROTO(task_struct* p),
  TP_ARGS(p),
  TP_STRUCT__entry(
    __array(char, comm, 16)
    __field(pid_t, pid)
    __field(int, prio)
    __field(int, target_cpu)),
  TP_fast_assign(
    std::memcpy(__entry->comm, p->comm, TASK_COMM_LEN);
    __entry->pid = p->pid;
    __entry->prio = p->prio;
    __entry->target_cpu = task_cpu(p);),
  TP_printk("comm=%s pid=%d prio=%d target_cpu=%03d",
    __entry->comm, __entry->pid, __entry->prio, __entry->target_cpu))

// Fired by try_to_wake_up() on the waker's CPU, before the task is placed anywhere.
DEFINE_EVENT(sched_wakeup_template, sched_waking,
  TP_PROTO(task_struct* p), TP_ARGS(p), TP_json(instant))
// Fired where the task becomes runnable (the target's CPU for a remote wakeup).
DEFINE_EVENT(sched_wakeup_template, sched_wakeup,
  TP_PROTO(task_struct* p), TP_ARGS(p), TP_json(wakeup))
DEFINE_EVENT(sched_wakeup_template, sched_wakeup_new,
  TP_PROTO(task_struct* p), TP_ARGS(p), TP_json(wakeup))

// Fired by set_task_cpu(), also when the CPU stays the same (as the kernel's).
TRACE_EVENT(sched_migrate_task,
  TP_PROTO(task_struct* p, int dest_cpu),
  TP_ARGS(p, dest_cpu),
  TP_STRUCT__entry(
    __string(comm, p->comm)
    __field(pid_t, pid)
    __field(int, prio)
    __field(int, orig_cpu)
    __field(int, dest_cpu)),
  TP_fast_assign(
    __entry->pid = p->pid;
    __entry->prio = p->prio;
    __entry->orig_cpu = task_cpu(p);
    __entry->dest_cpu = dest_cpu;),
  TP_printk("comm=%s pid=%d prio=%d orig_cpu=%d dest_cpu=%d",
    __get_str(comm), __entry->pid, __entry->prio, __entry->orig_cpu, __entry->dest_cpu),
  TP_json(migrate))

// parent is nullptr when a thread outside the logical CPUs created the task.
TRACE_EVENT(sched_process_fork,
  TP_PROTO(task_struct* parent, task_struct* child),
  TP_ARGS(parent, child),
  TP_STRUCT__entry(
    __string(parent_comm, trace_task_comm(parent))
    __field(pid_t, parent_pid)
    __string(child_comm, child->comm)
    __field(pid_t, child_pid)),
  TP_fast_assign(
    __entry->parent_pid = trace_task_pid(parent);
    __entry->child_pid = child->pid;),
  TP_printk("comm=%s pid=%d child_comm=%s child_pid=%d",
    __get_str(parent_comm), __entry->parent_pid, __get_str(child_comm), __entry->child_pid))

// Every cpustop task is a thread group of its own: group_dead is always true.
TRACE_EVENT(sched_process_exit,
  TP_PROTO(task_struct* p),
  TP_ARGS(p),
  TP_STRUCT__entry(
    __array(char, comm, 16)
    __field(pid_t, pid)
    __field(int, prio)
    __field(bool, group_dead)),
  TP_fast_assign(
    std::memcpy(__entry->comm, p->comm, TASK_COMM_LEN);
    __entry->pid = p->pid;
    __entry->prio = p->prio;
    __entry->group_dead = true;),
  TP_printk("comm=%s pid=%d prio=%d group_dead=%s",
    __entry->comm, __entry->pid, __entry->prio, __entry->group_dead ? "true" : "false"))
// clang-format on

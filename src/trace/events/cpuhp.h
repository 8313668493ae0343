// CPU hotplug state callbacks, with the kernel's fields and formats
// (include/trace/events/cpuhp.h). Read once per pass: no include guard.
// Laid out as the kernel lays out its event definitions, not as clang-format would.
// clang-format off
#undef TRACE_SYSTEM
#define TRACE_SYSTEM cpuhp

// cpustop's callbacks are std::function objects: fun is the step's name, which %ps prints.
TRACE_EVENT(cpuhp_enter,
  TP_PROTO(unsigned int cpu, int state, const char* name),
  TP_ARGS(cpu, state, name),
  TP_STRUCT__entry(
    __field(unsigned int, cpu)
    __field(int, target)
    __field(int, idx)
    __field(void *, fun)),
  TP_fast_assign(
    __entry->cpu = cpu;
    __entry->target = state;
    __entry->idx = state;
    __entry->fun = const_cast<char*>(name);
    trace_sym_note(name, name);),
  TP_printk("cpu: %04u target: %3d step: %3d (%ps)",
    __entry->cpu, __entry->target, __entry->idx, __entry->fun),
  TP_json(begin, "fun", "cpu"))

TRACE_EVENT(cpuhp_exit,
  TP_PROTO(unsigned int cpu, int state, int ret),
  TP_ARGS(cpu, state, ret),
  TP_STRUCT__entry(
    __field(unsigned int, cpu)
    __field(int, state)
    __field(int, idx)
    __field(int, ret)),
  TP_fast_assign(
    __entry->cpu = cpu;
    __entry->state = state;
    __entry->idx = state;
    __entry->ret = ret;),
  TP_printk(" cpu: %04u  state: %3d step: %3d ret: %d",
    __entry->cpu, __entry->state, __entry->idx, __entry->ret),
  TP_json(end, nullptr, "cpu"))
// clang-format on

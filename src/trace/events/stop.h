// cpustop's stopper events (the kernel has none): a work queued on a CPU's stopper, and its
// function starting and finishing on migration/N. Read once per pass: no include guard.
// Laid out as the kernel lays out its event definitions, not as clang-format would.
// clang-format off
#undef TRACE_SYSTEM
#define TRACE_SYSTEM stop

// caller is the return address of the code that queued the work (the kernel's _RET_IP_).
TRACE_EVENT(cpu_stop_queue,
  TP_PROTO(unsigned int cpu, cpu_stop_fn_t fn, unsigned long caller),
  TP_ARGS(cpu, fn, caller),
  TP_STRUCT__entry(
    __field(unsigned int, cpu)
    __field(void *, fn)
    __field(void *, caller)),
  TP_fast_assign(
    __entry->cpu = cpu;
    __entry->fn = reinterpret_cast<void*>(fn);
    __entry->caller = reinterpret_cast<void*>(caller);),
  TP_printk("cpu=%u fn=%ps caller=%pS", __entry->cpu, __entry->fn, __entry->caller))

TRACE_EVENT(cpu_stop_start,
  TP_PROTO(cpu_stop_fn_t fn),
  TP_ARGS(fn),
  TP_STRUCT__entry(
    __field(void *, fn)),
  TP_fast_assign(
    __entry->fn = reinterpret_cast<void*>(fn);),
  TP_printk("fn=%ps", __entry->fn),
  TP_json(begin, "fn", nullptr, true))

TRACE_EVENT(cpu_stop_finish,
  TP_PROTO(cpu_stop_fn_t fn, int ret),
  TP_ARGS(fn, ret),
  TP_STRUCT__entry(
    __field(void *, fn)
    __field(int, ret)),
  TP_fast_assign(
    __entry->fn = reinterpret_cast<void*>(fn);
    __entry->ret = ret;),
  TP_printk("fn=%ps ret=%d", __entry->fn, __entry->ret),
  TP_json(end, "fn", nullptr, true))
// clang-format on

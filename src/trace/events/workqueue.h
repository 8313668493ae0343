// Workqueue execution events, with the kernel's fields and formats
// (include/trace/events/workqueue.h). Read once per pass: no include guard.
// Laid out as the kernel lays out its event definitions, not as clang-format would.
// clang-format off
#undef TRACE_SYSTEM
#define TRACE_SYSTEM workqueue

DECLARE_EVENT_CLASS(workqueue_execute,
  TP_PROTO(const void* work, unsigned long function),
  TP_ARGS(work, function),
  TP_STRUCT__entry(
    __field(void *, work)
    __field(void *, function)),
  TP_fast_assign(
    __entry->work = const_cast<void*>(work);
    __entry->function = reinterpret_cast<void*>(function);),
  TP_printk("work struct %p: function %ps", __entry->work, __entry->function))

DEFINE_EVENT(workqueue_execute, workqueue_execute_start,
  TP_PROTO(const void* work, unsigned long function), TP_ARGS(work, function),
  TP_json(begin, "function"))
DEFINE_EVENT(workqueue_execute, workqueue_execute_end,
  TP_PROTO(const void* work, unsigned long function), TP_ARGS(work, function),
  TP_json(end, "function"))
// clang-format on

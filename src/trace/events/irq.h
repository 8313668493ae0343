// Softirq events, with the kernel's fields and formats (include/trace/events/irq.h).
// Read once per pass: no include guard.
// Laid out as the kernel lays out its event definitions, not as clang-format would.
// clang-format off
#undef TRACE_SYSTEM
#define TRACE_SYSTEM irq

DECLARE_EVENT_CLASS(softirq,
  TP_PROTO(unsigned int vec_nr),
  TP_ARGS(vec_nr),
  TP_STRUCT__entry(
    __field(unsigned int, vec)),
  TP_fast_assign(
    __entry->vec = vec_nr;),
  TP_printk("vec=%u [action=%s]", __entry->vec,
    __print_symbolic(__entry->vec, { 0, "HI" }, { 1, "TIMER" }, { 2, "NET_TX" },
                     { 3, "NET_RX" }, { 4, "BLOCK" }, { 5, "IRQ_POLL" }, { 6, "TASKLET" },
                     { 7, "SCHED" }, { 8, "HRTIMER" }, { 9, "RCU" })))

DEFINE_EVENT(softirq, softirq_raise, TP_PROTO(unsigned int vec_nr), TP_ARGS(vec_nr))
DEFINE_EVENT(softirq, softirq_entry, TP_PROTO(unsigned int vec_nr), TP_ARGS(vec_nr),
  TP_json(begin))
DEFINE_EVENT(softirq, softirq_exit, TP_PROTO(unsigned int vec_nr), TP_ARGS(vec_nr),
  TP_json(end))
// clang-format on

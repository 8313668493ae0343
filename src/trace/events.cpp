// Every event, generated from its one definition in trace/events/*.h (the kernel's
// CREATE_TRACE_POINTS and trace_events.h): the headers are read once per pass below, each pass
// giving TRACE_EVENT, DECLARE_EVENT_CLASS and DEFINE_EVENT another meaning. Per class: the raw
// record, the offsets of its strings, the assign step, the output, the format file's fields and
// print fmt, and the USDT arguments. Per event: the key, the trace_event_call and
// __trace_<event>(), which records into the ring and fires the USDT probe cpustop:<event>.
#include <cstddef>
#include <cstring>
#include <tuple>

#include "kernel/task.h"
#include "trace/events.h"
#include "trace/trace_event.h"

// From here on the event headers also bring their assign helpers.
#define CREATE_TRACE_POINTS

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#define __stringify_1(...) #__VA_ARGS__
#define __stringify(...) __stringify_1(__VA_ARGS__)

#define TP_STRUCT__entry(...) __VA_ARGS__
#define TP_fast_assign(...) __VA_ARGS__
#define TRACE_EVENT(name, proto, args, tstruct, assign, print, ...)                       \
  DECLARE_EVENT_CLASS(name, PARAMS(proto), PARAMS(args), PARAMS(tstruct), PARAMS(assign), \
                      PARAMS(print))                                                      \
  DEFINE_EVENT(name, name, PARAMS(proto), PARAMS(args) __VA_OPT__(, ) __VA_ARGS__)

// Some classes have no strings, some events no use for an argument in a pass.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpedantic"

namespace cpustop {

inline const char* trace_data_loc_str(const void* rec, std::uint32_t loc) {
  return static_cast<const char*>(rec) + (loc & 0xffff);
}

inline constexpr trace_json_map trace_json_choose(trace_json_map d) {
  return d;
}
inline constexpr trace_json_map trace_json_choose(trace_json_map, trace_json_map m) {
  return m;
}
#define TP_json(kind, ...)                           \
  trace_json_map {                                   \
    trace_json_kind::kind __VA_OPT__(, ) __VA_ARGS__ \
  }

// ---- Pass 1: the raw record and the offsets of its strings -----------------------------------

#define __field(type, item) type item;
#define __array(type, item, len) type item[len];
#define __string(item, src) std::uint32_t __data_loc_##item;
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print) \
  struct trace_event_raw_##call {                                      \
    trace_entry ent;                                                   \
    tstruct char __data[];                                             \
  };
#define DEFINE_EVENT(tmpl, name, proto, args, ...)
#include "trace/events/all.h"
#undef __field
#undef __array
#undef __string
#undef DECLARE_EVENT_CLASS

#define __field(type, item)
#define __array(type, item, len)
#define __string(item, src) std::uint32_t item;
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print) \
  struct trace_event_data_offsets_##call {                             \
    tstruct                                                            \
  };
#include "trace/events/all.h"
#undef __string
#undef DECLARE_EVENT_CLASS

// ---- Pass 2: the size of the strings, and where they go (__data_loc: length << 16 | offset) ---

#define __string(item, src)                                                   \
  __item_length = trace_str_len(src);                                         \
  __data_offsets->item = (__data_size + __data_base) | (__item_length << 16); \
  __data_size += __item_length;
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print)                           \
  static std::uint32_t trace_event_get_offsets_##call(                                           \
      trace_event_data_offsets_##call* __data_offsets, proto) {                                  \
    [[maybe_unused]] std::uint32_t __item_length;                                                \
    [[maybe_unused]] const std::uint32_t __data_base = offsetof(trace_event_raw_##call, __data); \
    std::uint32_t __data_size = 0;                                                               \
    tstruct return __data_size;                                                                  \
  }
#include "trace/events/all.h"
#undef __string
#undef DECLARE_EVENT_CLASS

// ---- Pass 3: the assign step ------------------------------------------------------------------

#define __string(item, src)                                                              \
  __entry->__data_loc_##item = __data_offsets->item;                                     \
  std::memcpy(reinterpret_cast<char*>(__entry) + (__data_offsets->item & 0xffff), (src), \
              (__data_offsets->item >> 16) - 1);                                         \
  reinterpret_cast<char*>(                                                               \
      __entry)[(__data_offsets->item & 0xffff) + (__data_offsets->item >> 16) - 1] = '\0';
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print)                 \
  static void trace_event_assign_##call(                                               \
      trace_event_raw_##call* __entry,                                                 \
      [[maybe_unused]] const trace_event_data_offsets_##call* __data_offsets, proto) { \
    tstruct assign                                                                     \
  }
#include "trace/events/all.h"
#undef __field
#undef __array
#undef __string
#undef DECLARE_EVENT_CLASS

// ---- Pass 4: the output (the ftrace text of one record) ---------------------------------------

#define __get_str(field) trace_data_loc_str(__entry, __entry->__data_loc_##field)
#define __print_flags(flag, delim, ...) trace_print_flags(flag, delim, {__VA_ARGS__})
#define __print_symbolic(value, ...) trace_print_symbolic(value, {__VA_ARGS__})
#define TP_printk(fmt, ...) trace_seq_printf(p, fmt __VA_OPT__(, ) __VA_ARGS__)
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print)     \
  static void trace_raw_output_##call(trace_seq* p, const void* rec) {     \
    const auto* __entry = static_cast<const trace_event_raw_##call*>(rec); \
    print;                                                                 \
  }
#include "trace/events/all.h"
#undef __get_str
#undef __print_flags
#undef __print_symbolic
#undef TP_printk
#undef DECLARE_EVENT_CLASS

// ---- Pass 5: the format file's print fmt (the arguments' text, __entry spelled REC) ------------

#define __entry REC
#define TP_printk(fmt, ...) "\"" fmt "\", " __stringify(__VA_ARGS__)
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print) \
  static const char print_fmt_##call[] = print;
#include "trace/events/all.h"
#undef __entry
#undef TP_printk
#undef DECLARE_EVENT_CLASS

// ---- Pass 6: the format file's fields ---------------------------------------------------------

#define __field(type, item)                               \
  {#type,                                                 \
   #item,                                                 \
   offsetof(raw, item),                                   \
   sizeof(type),                                          \
   std::is_signed_v<type> && !std::is_same_v<type, char>, \
   trace_field_kind::number},
#define __array(type, item, len) \
  {#type, #item, offsetof(raw, item), sizeof(type) * (len), false, trace_field_kind::array},
#define __string(item, src)                                                      \
  {"__data_loc char[]",       #item, offsetof(raw, __data_loc_##item), 4, false, \
   trace_field_kind::data_loc},
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print) \
  namespace trace_fields_##call {                                      \
    using raw = trace_event_raw_##call;                                \
    static const trace_event_field list[] = {tstruct};                 \
  }
#include "trace/events/all.h"
#undef __field
#undef __array
#undef __string
#undef DECLARE_EVENT_CLASS

// ---- Pass 7: the USDT probe's arguments, in field order, strings as const char* -----------------

#define __field(type, item) , std::make_tuple(__entry->item)
#define __array(type, item, len) , std::make_tuple(static_cast<const type*>(__entry->item))
#define __string(item, src) \
  , std::make_tuple(trace_data_loc_str(__entry, __entry->__data_loc_##item))
#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print)        \
  static auto trace_usdt_args_##call(const trace_event_raw_##call* __entry) { \
    return std::tuple_cat(std::tuple<>() tstruct);                            \
  }
#include "trace/events/all.h"
#undef __field
#undef __array
#undef __string
#undef DECLARE_EVENT_CLASS
#undef DEFINE_EVENT

// ---- Pass 8: per event, the key, the trace_event_call and the slow path -----------------------

#define TRACE_USDT_FIRE(name, tuple)                                                               \
  [&](const auto& t) {                                                                             \
    using std::get;                                                                                \
    constexpr std::size_t n = std::tuple_size_v<std::decay_t<decltype(t)>>;                        \
    static_assert(n >= 1 && n <= 8, "a USDT probe takes 1 to 8 arguments here");                   \
    if constexpr (n == 1)                                                                          \
      STAP_PROBE1(cpustop, name, get<0>(t));                                                       \
    else if constexpr (n == 2)                                                                     \
      STAP_PROBE2(cpustop, name, get<0>(t), get<1>(t));                                            \
    else if constexpr (n == 3)                                                                     \
      STAP_PROBE3(cpustop, name, get<0>(t), get<1>(t), get<2>(t));                                 \
    else if constexpr (n == 4)                                                                     \
      STAP_PROBE4(cpustop, name, get<0>(t), get<1>(t), get<2>(t), get<3>(t));                      \
    else if constexpr (n == 5)                                                                     \
      STAP_PROBE5(cpustop, name, get<0>(t), get<1>(t), get<2>(t), get<3>(t), get<4>(t));           \
    else if constexpr (n == 6)                                                                     \
      STAP_PROBE6(cpustop, name, get<0>(t), get<1>(t), get<2>(t), get<3>(t), get<4>(t),            \
                  get<5>(t));                                                                      \
    else if constexpr (n == 7)                                                                     \
      STAP_PROBE7(cpustop, name, get<0>(t), get<1>(t), get<2>(t), get<3>(t), get<4>(t), get<5>(t), \
                  get<6>(t));                                                                      \
    else                                                                                           \
      STAP_PROBE8(cpustop, name, get<0>(t), get<1>(t), get<2>(t), get<3>(t), get<4>(t), get<5>(t), \
                  get<6>(t), get<7>(t));                                                           \
  }(tuple)

#define DECLARE_EVENT_CLASS(call, proto, args, tstruct, assign, print)
#define DEFINE_EVENT(tmpl, name, proto, args, ...)                                        \
  extern "C" {                                                                            \
  __attribute__((section(".probes"), used)) tracepoint_key cpustop_##name##_semaphore{0}; \
  }                                                                                       \
  static const trace_event_call trace_event_##name = {                                    \
      __stringify(TRACE_SYSTEM),                                                          \
      #name,                                                                              \
      TRACE_EVENT_TYPE_BASE + TE_##name,                                                  \
      trace_fields_##tmpl::list,                                                          \
      print_fmt_##tmpl,                                                                   \
      trace_raw_output_##tmpl,                                                            \
      &cpustop_##name##_semaphore,                                                        \
      trace_json_choose(trace_json_map {} __VA_OPT__(, ) __VA_ARGS__)};                   \
  void __trace_##name(proto) {                                                            \
    trace_event_data_offsets_##tmpl __data_offsets;                                       \
    std::uint32_t size = static_cast<std::uint32_t>(sizeof(trace_event_raw_##tmpl)) +     \
                         trace_event_get_offsets_##tmpl(&__data_offsets, args);           \
    trace_event_buffer fb;                                                                \
    auto* entry = static_cast<trace_event_raw_##tmpl*>(                                   \
        trace_event_buffer_reserve(&fb, &trace_event_##name, size));                      \
    trace_event_assign_##tmpl(entry, &__data_offsets, args);                              \
    if (fb.usdt) TRACE_USDT_FIRE(name, trace_usdt_args_##tmpl(entry));                    \
    trace_event_buffer_commit(&fb);                                                       \
  }
#include "trace/events/all.h"
#undef DEFINE_EVENT

// ---- Pass 9: the list, in id order -------------------------------------------------------------

#define DEFINE_EVENT(tmpl, name, proto, args, ...) &trace_event_##name,
static const trace_event_call* const trace_event_calls[] = {
#include "trace/events/all.h"
};
#undef DEFINE_EVENT
#undef DECLARE_EVENT_CLASS
static_assert(std::size(trace_event_calls) == NR_TRACE_EVENTS);

std::span<const trace_event_call* const> trace_event_list() {
  return trace_event_calls;
}

}  // namespace cpustop

#pragma GCC diagnostic pop

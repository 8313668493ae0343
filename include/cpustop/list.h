// The kernel's intrusive doubly linked list (include/linux/list.h), as used by wait queues and
// the stopper's work list: nodes live inside the objects, so linking never allocates.
#pragma once

#include <cstddef>
#include <type_traits>

namespace cpustop {

struct list_head {
  list_head* next;
  list_head* prev;
  list_head() : next(this), prev(this) {}
  list_head(const list_head&) = delete;
  list_head& operator=(const list_head&) = delete;
};

inline void INIT_LIST_HEAD(list_head* h) {
  h->next = h->prev = h;
}

inline void __list_add(list_head* n, list_head* prev, list_head* next) {
  next->prev = n;
  n->next = next;
  n->prev = prev;
  prev->next = n;
}
inline void list_add(list_head* n, list_head* head) {
  __list_add(n, head, head->next);
}
inline void list_add_tail(list_head* n, list_head* head) {
  __list_add(n, head->prev, head);
}

inline void __list_del(list_head* prev, list_head* next) {
  next->prev = prev;
  prev->next = next;
}
inline void list_del_init(list_head* e) {
  __list_del(e->prev, e->next);
  INIT_LIST_HEAD(e);
}
inline void list_move_tail(list_head* e, list_head* head) {
  __list_del(e->prev, e->next);
  list_add_tail(e, head);
}
inline bool list_empty(const list_head* h) {
  return h->next == h;
}
inline bool list_is_singular(const list_head* h) {
  return !list_empty(h) && h->next == h->prev;
}
// True when node e is linked into some list (a node is kept self-linked while unlinked).
inline bool list_linked(const list_head* e) {
  return e->next != e;
}

}  // namespace cpustop

#define container_of(ptr, type, member) \
  (reinterpret_cast<type*>(reinterpret_cast<char*>(ptr) - __builtin_offsetof(type, member)))
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)
#define list_for_each_entry(pos, head, member)                                     \
  for (pos = list_first_entry(head, std::remove_pointer_t<decltype(pos)>, member); \
       &pos->member != (head);                                                     \
       pos = list_entry(pos->member.next, std::remove_pointer_t<decltype(pos)>, member))
#define list_for_each_entry_safe(pos, n, head, member)                                \
  for (pos = list_first_entry(head, std::remove_pointer_t<decltype(pos)>, member),    \
      n = list_entry(pos->member.next, std::remove_pointer_t<decltype(pos)>, member); \
       &pos->member != (head);                                                        \
       pos = n, n = list_entry(n->member.next, std::remove_pointer_t<decltype(n)>, member))

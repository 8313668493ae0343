// The kernel console: the process's standard error, on both platforms.
#include <errno.h>
#include <unistd.h>

#include "arch/arch.h"

namespace cpustop::arch {

void console_write(const char* s, std::size_t len) {
  while (len > 0) {
    ssize_t n = write(STDERR_FILENO, s, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s += n;
    len -= static_cast<std::size_t>(n);
  }
}

}  // namespace cpustop::arch

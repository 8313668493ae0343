// Helpers shared by the socket tests (net_test, httpd_test).
#pragma once

#include <dirent.h>

namespace cpustop::test {

// The process's open descriptors, as /proc/self/fd lists them (less the one that reads it).
inline int count_open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

}  // namespace cpustop::test

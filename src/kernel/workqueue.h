#pragma once

#include "cpustop/workqueue.h"

namespace cpustop {

// From kernel_init_freeable(): registers kworker/N:0 with smpboot.
void workqueue_init();
void workqueue_exit();

}  // namespace cpustop

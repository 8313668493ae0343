# The layers of the house and what each may include: the one table that the build checks
# (cmake/check_layers.cmake, run before the library is compiled) and docs/layers.md draws.
# A quoted #include with no '/' is the folder's own header and always allowed. tests/ may include
# anything but the private headers below.
#
# "folder|allowed include prefixes": the longest matching folder applies to a file.
set(CPUSTOP_LAYERS
  "include/cpustop|cpustop/"
  "src/lib|cpustop/ lib/"
  "src/arch|cpustop/ lib/ arch/"
  "src/kernel|cpustop/ lib/ arch/ kernel/ trace/events.h trace/trace.h"
  "src/trace|cpustop/ lib/ arch/ kernel/ trace/"
  "src/proc|cpustop/ lib/ arch/ kernel/ trace/ proc/"
  "src/net|cpustop/ lib/ arch/ kernel/ trace/events.h net/"
  "src/host|cpustop/ host/"
  "tools|cpustop/"
  "bench|cpustop/"
  "examples|cpustop/")

# "header|folders (or files) that may include it": a subsystem's private header.
set(CPUSTOP_PRIVATE_HEADERS
  "kernel/sched/sched.h|src/kernel/sched"
  "arch/native/|src/arch/native src/arch/arch.h"
  "arch/sim/|src/arch/sim src/arch/arch.h")

# "file|include": known breaks of the rules above, each to be removed by the change that fixes it.
# Nothing may be added here.
set(CPUSTOP_LAYER_DEBTS)

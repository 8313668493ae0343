// `cpustop bench ... --report DIR`: a page of plots from what the benchmarks reported.
#pragma once

#include <string>

namespace cpustop::bench {

// Writes DIR/index.html with one plot per BENCH metric (ours and each peer: median, bar from
// min to max), one plot per scaling metric (cost against CPU count, a curve per source:
// "native", and "sim" when the simulator's benchmarks ran), the host line and the raw BENCH and
// SCALE lines as text (also DIR/bench.txt). The plots are SVG drawn by gnuplot under DIR/plots/.
// Returns 0, -errno when DIR cannot be written, or -ENOENT when gnuplot could not draw (the page
// and text are still written, without the plots).
int write_report(const std::string& dir, const std::string& host);

}  // namespace cpustop::bench

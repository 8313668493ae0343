// The benchmark helper and the report: alternation, the BENCH and SCALE lines, the page.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "bench.h"
#include "bench_util.h"
#include "report.h"

namespace cpustop::bench {
namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every test here adds to the process's records; each looks only at what it added.
std::vector<std::string> lines_since(size_t before) {
  const auto& all = printed_lines();
  return {all.begin() + static_cast<std::ptrdiff_t>(before), all.end()};
}

TEST(bench_util, sides_alternate_round_after_round_for_at_least_five_rounds) {
  std::string order;
  std::vector<spread> r = alternate(
      {{"a", [&] { return order += 'a', 1.0; }}, {"b", [&] { return order += 'b', 2.0; }}}, 2);
  EXPECT_EQ(order, "ababababab");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].samples.size(), 5u);
  EXPECT_EQ(r[1].median(), 2.0);
}

TEST(bench_util, compare_prints_one_bench_line_per_peer_with_median_and_spread) {
  size_t before = printed_lines().size();
  std::vector<double> ours{50, 10, 30, 20, 40}, peer{100, 300, 200, 500, 400};
  size_t i = 0, j = 0;
  testing::internal::CaptureStdout();
  compare("unit_metric", [&] { return ours[i++]; },
          {{"unit_peer", [&] { return peer[j++]; }}, {"absent_peer", [] { return -1.0; }}});
  flush_reports();
  std::string out = testing::internal::GetCapturedStdout();
  std::vector<std::string> lines = lines_since(before);
  ASSERT_EQ(lines.size(), 1u) << out;
  EXPECT_EQ(lines[0],
            "BENCH unit_metric ours_ns=30.00 unit_peer_ns=300.0 ratio=0.100 ours_min_ns=10.00 "
            "ours_max_ns=50.00 unit_peer_min_ns=100.0 unit_peer_max_ns=500.0 rounds=5");
  EXPECT_NE(out.find("# unit_metric: absent_peer not measured"), std::string::npos) << out;
}

TEST(bench_util, a_recorded_peer_has_no_spread) {
  spread r = recorded(51e6);
  EXPECT_EQ(r.samples.size(), static_cast<size_t>(MIN_ROUNDS));
  EXPECT_EQ(r.min(), r.max());
}

TEST(bench_util, scaling_points_print_scale_lines) {
  size_t before = printed_lines().size();
  testing::internal::CaptureStdout();
  report_scaling("unit_scaling", "native", 4, spread{{7, 5, 6, 9, 8}});
  flush_reports();
  testing::internal::GetCapturedStdout();
  std::vector<std::string> lines = lines_since(before);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "SCALE unit_scaling source=native cpus=4 ns=7.00 min_ns=5.00 max_ns=9.00 rounds=5");
}

TEST(bench_util, the_host_line_names_the_cpu_model_and_count) {
  EXPECT_TRUE(std::regex_match(host_line(), std::regex(R"(HOST model=".+" cpus=\d+ usable=\d+)")))
      << host_line();
}

TEST(bench_report, the_page_has_a_plot_per_metric_and_scaling_curve_and_the_raw_lines) {
  testing::internal::CaptureStdout();
  compare("report_metric", [] { return 10.0; }, {{"report_peer", [] { return 20.0; }}});
  report_scaling("report_scaling", "native", 1, spread{{1, 1, 1, 1, 1}});
  report_scaling("report_scaling", "native", 2, spread{{2, 2, 2, 2, 2}});
  report_scaling("report_scaling", "sim", 2, spread{{3, 3, 3, 3, 3}});
  flush_reports();
  testing::internal::GetCapturedStdout();
  auto dir = std::filesystem::temp_directory_path() /
             ("cpustop-bench-report-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ASSERT_EQ(write_report(dir.string(), "HOST model=\"unit\" cpus=2 usable=2"), 0)
      << read(dir / "plots" / "report_metric.log");
  std::string html = read(dir / "index.html");
  EXPECT_NE(html.find("<img src=\"plots/report_metric.svg\""), std::string::npos);
  EXPECT_NE(html.find("<img src=\"plots/scaling_report_scaling.svg\""), std::string::npos);
  EXPECT_NE(html.find("BENCH report_metric ours_ns=10.00"), std::string::npos);
  EXPECT_NE(html.find("HOST model=&quot;unit&quot;"), std::string::npos);
  std::string svg = read(dir / "plots" / "report_metric.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("report_peer"), std::string::npos);
  std::string scaling = read(dir / "plots" / "scaling_report_scaling.svg");
  EXPECT_NE(scaling.find("native"), std::string::npos);
  EXPECT_NE(scaling.find("sim"), std::string::npos);
  EXPECT_NE(read(dir / "bench.txt").find("SCALE report_scaling source=sim cpus=2"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(bench_report, an_unwritable_directory_is_an_error) {
  EXPECT_LT(write_report("/proc/cpustop-no-such-dir/x", "HOST"), 0);
}

}  // namespace
}  // namespace cpustop::bench

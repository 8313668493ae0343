#include "report.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include "bench_util.h"

namespace cpustop::bench {

namespace {

namespace fs = std::filesystem;

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Metric names are ours ([a-z0-9_]); anything else becomes '_' in a file name.
std::string file_name(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  return out;
}

// gnuplot's own string quoting: single quotes, doubled inside.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// 612 ns, 10.8 us, 6.03 ms: three significant digits in the unit that fits.
std::string human_ns(double ns) {
  if (ns >= 1e6) return fmt::format("{:.3g} ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:.3g} us", ns / 1e3);
  return fmt::format("{:.3g} ns", ns);
}

struct bar {
  std::string label;
  spread s;
  bool ours;
};

// The bars of one metric: ours once (again only when a later comparison measured ours
// separately), then each peer.
std::vector<bar> bars_of(const std::string& metric) {
  std::vector<bar> bars;
  const std::vector<double>* last_ours = nullptr;
  for (const comparison& c : comparisons()) {
    if (c.metric != metric) continue;
    if (!last_ours || *last_ours != c.ours.samples) {
      bars.push_back({last_ours ? "ours (with " + c.peer + ")" : "ours", c.ours, true});
      last_ours = &c.ours.samples;
    }
    bars.push_back({c.peer, c.peer_spread, false});
  }
  return bars;
}

// A log axis when the values span more than 30x, so that a slow peer does not flatten ours.
bool wants_log(double lo, double hi) {
  return lo > 0 && hi / lo > 30;
}

// Draws plots/<stem>.svg from the script; false when gnuplot failed.
bool draw(const fs::path& plots, const std::string& stem, const std::string& script) {
  fs::path gp = plots / (stem + ".gp");
  std::ofstream(gp) << script;
  std::string cmd = "cd '" + plots.string() + "' && gnuplot '" + gp.filename().string() + "' >'" +
                    stem + ".log' 2>&1";
  return std::system(cmd.c_str()) == 0 && fs::exists(plots / (stem + ".svg"));
}

const char* HEADER = R"(set terminal svg size 560,300 dynamic font "sans,11" background "white"
set grid ytics
set border 3
set xtics nomirror
set ytics nomirror
)";

bool plot_metric(const fs::path& plots, const std::string& metric, const std::vector<bar>& bars) {
  std::string stem = file_name(metric);
  std::ofstream dat(plots / (stem + ".dat"));
  double lo = 0, hi = 0;
  for (size_t i = 0; i < bars.size(); i++) {
    const bar& b = bars[i];
    dat << fmt::format("{} \"{}\" {} {} {} {} \"{}\"\n", i, b.label, b.s.median(), b.s.min(),
                       b.s.max(), b.ours ? "0xd9534f" : "0x4a90d9", human_ns(b.s.median()));
    lo = i == 0 ? b.s.min() : std::min(lo, b.s.min());
    hi = std::max(hi, b.s.max());
  }
  dat.close();
  std::string script = HEADER;
  script += fmt::format("set output {}\n", gp_quote(stem + ".svg"));
  script += fmt::format("set title {} noenhanced\n",
                        gp_quote(metric + ": median of the rounds, bar min..max"));
  script += "set ylabel 'ns per operation'\n";
  script += fmt::format("set xrange [-0.6:{}]\n", bars.size() - 0.4);
  script += "set style fill solid 0.7 border -1\nset boxwidth 0.6\nset xtics noenhanced\n";
  if (wants_log(lo, hi))
    script += fmt::format("set logscale y\nset yrange [{}:{}]\n", lo / 2, hi * 2);
  else
    script += fmt::format("set yrange [0:{}]\n", hi * 1.15);
  script += fmt::format(
      "plot {0} using 1:3:6:xtic(2) with boxes lc rgb variable notitle, \\\n"
      "     {0} using 1:3:4:5 with yerrorbars lc rgb 'black' pt 7 ps 0.6 notitle, \\\n"
      "     {0} using 1:5:7 with labels offset 0,0.8 notitle\n",
      gp_quote(stem + ".dat"));
  return draw(plots, stem, script);
}

bool plot_scaling(const fs::path& plots, const std::string& metric,
                  const std::map<std::string, std::vector<const scaling_point*>>& by_source) {
  std::string stem = "scaling_" + file_name(metric);
  std::string plot = "plot ";
  double lo = 0, hi = 0;
  bool first = true;
  for (const auto& [source, points] : by_source) {
    std::string dat = stem + "." + file_name(source) + ".dat";
    std::ofstream out(plots / dat);
    for (const scaling_point* p : points) {
      out << fmt::format("{} {} {} {}\n", p->cpus, p->cost.median(), p->cost.min(), p->cost.max());
      lo = first ? p->cost.min() : std::min(lo, p->cost.min());
      hi = std::max(hi, p->cost.max());
      first = false;
    }
    if (plot != "plot ") plot += ", \\\n     ";
    plot += fmt::format("{} using 1:2:3:4 with yerrorlines lw 2 pt 7 title {}", gp_quote(dat),
                        gp_quote(source));
  }
  std::string script = HEADER;
  script += fmt::format("set output {}\n", gp_quote(stem + ".svg"));
  script += fmt::format("set title {} noenhanced\n",
                        gp_quote(metric + " against CPU count: median, bar min..max"));
  script += "set xlabel 'logical CPUs'\nset ylabel 'ns per call'\nset logscale x 2\n";
  script += "set key top left\nset offsets graph 0.05, graph 0.05, 0, 0\n";
  if (wants_log(lo, hi))
    script += "set logscale y\n";
  else
    script += fmt::format("set yrange [0:{}]\n", hi * 1.15);
  return draw(plots, stem, script + plot + "\n");
}

}  // namespace

int write_report(const std::string& dir_name, const std::string& host) {
  fs::path dir(dir_name);
  fs::path plots = dir / "plots";
  std::error_code ec;
  fs::create_directories(plots, ec);
  if (ec) return -ec.value();

  std::ofstream txt(dir / "bench.txt");
  if (!txt) return -EACCES;
  txt << host << "\n";
  for (const std::string& line : printed_lines()) txt << line << "\n";
  txt.close();

  bool drawn = true;
  std::string body;
  std::vector<std::string> metrics;
  for (const comparison& c : comparisons())
    if (std::find(metrics.begin(), metrics.end(), c.metric) == metrics.end())
      metrics.push_back(c.metric);
  body +=
      "<h2>Summary</h2>\n<p>Each side ran in turn, round after round, in this one process: the "
      "median of the rounds, and the fastest and slowest round. Ratio: ours / peer.</p>\n"
      "<table><tr><th>metric</th><th>peer</th><th>ours</th><th>ours min..max</th><th>peer</th>"
      "<th>peer min..max</th><th>ratio</th><th>rounds</th></tr>\n";
  for (const comparison& c : comparisons())
    body += fmt::format(
        "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}..{4}</td>"
        "<td>{5}</td><td>{6}..{7}</td><td>{8:.3f}</td><td>{9}</td></tr>\n",
        html_escape(c.metric), html_escape(c.peer), human_ns(c.ours.median()),
        human_ns(c.ours.min()), human_ns(c.ours.max()), human_ns(c.peer_spread.median()),
        human_ns(c.peer_spread.min()), human_ns(c.peer_spread.max()),
        c.ours.median() / c.peer_spread.median(), c.ours.samples.size());
  body +=
      "</table>\n<h2>Ours against each peer</h2>\n<p>Ours is red; the whisker spans the "
      "fastest to the slowest round.</p>\n<div class=\"grid\">\n";
  for (const std::string& m : metrics) {
    drawn &= plot_metric(plots, m, bars_of(m));
    body += fmt::format("<figure id=\"{0}\"><img src=\"plots/{0}.svg\" alt=\"{0}\"></figure>\n",
                        html_escape(m));
  }
  body += "</div>\n";

  // metric -> source -> points, in CPU order.
  std::map<std::string, std::map<std::string, std::vector<const scaling_point*>>> scaling;
  for (const scaling_point& p : scaling_points()) scaling[p.metric][p.source].push_back(&p);
  body +=
      "<h2>Scaling against CPU count</h2>\n<p>Source <code>native</code>: logical CPUs on "
      "this host's real CPUs (more logical CPUs than hardware CPUs share them). Source "
      "<code>sim</code>: the simulator's virtual CPUs, when its benchmarks ran in this "
      "report (they add <code>SCALE ... source=sim</code> lines).</p>\n";
  if (scaling.empty()) body += "<p>No scaling benchmark ran.</p>\n";
  body += "<div class=\"grid\">\n";
  for (auto& [metric, by_source] : scaling) {
    for (auto& [source, points] : by_source)
      std::sort(points.begin(), points.end(),
                [](const scaling_point* a, const scaling_point* b) { return a->cpus < b->cpus; });
    drawn &= plot_scaling(plots, metric, by_source);
    std::string stem = "scaling_" + file_name(metric);
    body += fmt::format(
        "<figure id=\"{1}\"><img src=\"plots/{1}.svg\" alt=\"{0}\"><figcaption>{2}"
        "</figcaption></figure>\n",
        html_escape(metric), stem, by_source.count("sim") ? "" : "sim: no points in this run");
  }

  body += "</div>\n<h2>Raw lines</h2>\n<pre>" + html_escape(host) + "\n";
  for (const std::string& line : printed_lines()) body += html_escape(line) + "\n";
  body += "</pre>\n<p>Also as text: <a href=\"bench.txt\">bench.txt</a>.</p>\n";

  std::ofstream html(dir / "index.html");
  if (!html) return -EACCES;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cpustop bench</title>\n"
          "<style>body{font-family:sans-serif;max-width:1160px;margin:2em auto;padding:0 1em}"
          "img{max-width:100%;border:1px solid #ddd}.grid{display:flex;flex-wrap:wrap;gap:8px}"
          "figure{margin:0;width:calc(50% - "
          "4px)}figcaption{font-size:12px;color:#666}table{border-collapse:collapse;margin:.5em "
          "0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
          "td:first-child,th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em;"
          "overflow-x:auto;font-size:12px}</style></head><body>\n<h1>cpustop bench</h1>\n<p>"
       << html_escape(host) << "</p>\n"
       << (drawn ? "" : "<p><b>gnuplot could not draw some plots (see plots/*.log).</b></p>\n")
       << body << "</body></html>\n";
  return drawn ? 0 : -ENOENT;
}

}  // namespace cpustop::bench

#include "chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace frugal::sim::gui {

double Axis::fraction(double v) const {
  if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  return (v - lo) / (hi - lo);
}

namespace {

// The step of 1, 2 or 5 x 10^k nearest above `raw`.
double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double residual = raw / magnitude;
  // A hair of tolerance so that 2.0000000001 (floating-point noise) still rounds to 2.
  const double mantissa = residual <= 1.0 + 1e-9 ? 1 : residual <= 2.0 + 1e-9 ? 2 : residual <= 5.0 + 1e-9 ? 5 : 10;
  return mantissa * magnitude;
}

void label_ticks(Axis& a) {
  a.labels.clear();
  for (double t : a.ticks) a.labels.push_back(format_si(t));
}

}  // namespace

Axis linear_axis(double lo, double hi, int max_intervals) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= 1e-12 * std::max(std::fabs(lo), std::fabs(hi))) {  // one value: widen around it
    const double pad = lo == 0 ? 1.0 : 0.1 * std::fabs(lo);
    lo -= pad;
    hi += pad;
  }
  const double step = nice_step((hi - lo) / std::max(1, max_intervals));
  Axis a;
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  const int n = static_cast<int>(std::lround((a.hi - a.lo) / step));
  for (int i = 0; i <= n; ++i) {
    const double t = a.lo + i * step;
    a.ticks.push_back(std::fabs(t) < 1e-9 * step ? 0.0 : t);  // -0.0000001 drawn as 0
  }
  label_ticks(a);
  return a;
}

Axis log_axis(double lo, double hi) {
  if (!(lo > 0) || !std::isfinite(lo)) lo = 1;
  if (!(hi > 0) || !std::isfinite(hi)) hi = lo * 10;
  if (lo > hi) std::swap(lo, hi);
  Axis a;
  a.log = true;
  int first = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int last = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (last == first) ++last;
  a.lo = std::pow(10.0, first);
  a.hi = std::pow(10.0, last);
  const bool fine = last - first <= 2;
  const int every = std::max(1, (last - first + 7) / 8);  // at most about 8 decade labels
  for (int k = first; k <= last; ++k) {
    const double decade = std::pow(10.0, k);
    if (fine) {
      for (double m : {1.0, 2.0, 5.0})
        if (m * decade <= a.hi * (1 + 1e-9)) a.ticks.push_back(m * decade);
    } else if ((k - first) % every == 0) {
      a.ticks.push_back(decade);
    }
  }
  label_ticks(a);
  return a;
}

std::string format_si(double v) {
  if (v == 0) return "0";
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf");
  static const char* const prefixes[] = {"", "k", "M", "G", "T", "P"};
  const double a = std::fabs(v);
  if (a < 1e-3) return fmt::format("{:.3g}", v);
  int i = a < 1000 ? 0 : static_cast<int>(std::floor(std::log10(a) / 3));
  if (i > 5) return fmt::format("{:.3g}", v);
  std::string s = fmt::format("{:.3g}", v / std::pow(1000.0, i));
  if (s.find('e') != std::string::npos) {  // 999.96 rounds to 1e+03: the next prefix up
    if (++i > 5) return fmt::format("{:.3g}", v);
    s = fmt::format("{:.3g}", v / std::pow(1000.0, i));
  }
  return s + prefixes[i];
}

ChartAxes chart_axes(const Chart& c) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  auto take_x = [&](double x) {
    if (!std::isfinite(x) || (c.x_log && x <= 0)) return;
    x_lo = std::min(x_lo, x);
    x_hi = std::max(x_hi, x);
  };
  auto take_y = [&](double y) {
    if (!std::isfinite(y) || (c.y_log && y <= 0)) return;
    y_lo = std::min(y_lo, y);
    y_hi = std::max(y_hi, y);
  };
  std::vector<double> stack(c.categories.size(), 0.0);
  for (const Series& s : c.series) {
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (i < s.invalid.size() && !s.invalid[i].empty()) {
        take_x(s.x[i]);  // drawn at the bottom of the plot, at its x
        continue;
      }
      take_x(s.x[i]);
      if (s.kind == SeriesKind::stacked_bars && s.x[i] >= 0 && static_cast<std::size_t>(s.x[i]) < stack.size()) {
        double& top = stack[static_cast<std::size_t>(s.x[i])];
        top += s.y[i];
        take_y(top);
      } else {
        take_y(s.y[i]);
      }
    }
  }
  for (const ReferenceLine& l : c.lines) {
    if (l.horizontal) take_y(l.value);
    else take_x(l.value);
  }
  if (c.identity) {  // y = x must be visible across the data: both axes cover both ranges
    const double lo = std::min(x_lo, y_lo), hi = std::max(x_hi, y_hi);
    x_lo = y_lo = lo;
    x_hi = y_hi = hi;
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1;
  if (!std::isfinite(y_lo)) y_lo = 0, y_hi = 1;
  ChartAxes axes;
  if (!c.categories.empty()) {  // one slot per category, labelled with its name
    axes.x.lo = -0.5;
    axes.x.hi = static_cast<double>(c.categories.size()) - 0.5;
    for (std::size_t i = 0; i < c.categories.size(); ++i) {
      axes.x.ticks.push_back(static_cast<double>(i));
      axes.x.labels.push_back(c.categories[i]);
    }
  } else {
    axes.x = c.x_log ? log_axis(x_lo, x_hi) : linear_axis(x_lo, x_hi);
  }
  if (c.y_log) {
    axes.y = log_axis(y_lo, y_hi);
  } else {
    if (!c.identity) y_lo = std::min(y_lo, 0.0);  // bars and costs start at zero
    axes.y = linear_axis(y_lo, y_hi, 5);
  }
  return axes;
}

namespace {

nlohmann::json ticks_json(const Axis& a) {
  nlohmann::json t = nlohmann::json::array();
  for (const std::string& l : a.labels) t.push_back(l);
  return t;
}

}  // namespace

nlohmann::json chart_json(const Chart& c, const ChartAxes& axes) {
  nlohmann::json j = {{"title", c.title},
                      {"x_label", c.x_label},
                      {"y_label", c.y_label},
                      {"x_log", c.x_log},
                      {"y_log", c.y_log},
                      {"x_ticks", ticks_json(axes.x)},
                      {"y_ticks", ticks_json(axes.y)}};
  nlohmann::json series = nlohmann::json::array();
  for (const Series& s : c.series) {
    nlohmann::json points = nlohmann::json::array(), invalid = nlohmann::json::array();
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (i < s.invalid.size() && !s.invalid[i].empty()) invalid.push_back({{"x", s.x[i]}, {"reason", s.invalid[i]}});
      else points.push_back({s.x[i], s.y[i]});
    }
    nlohmann::json one = {{"name", s.name}, {"points", points}};
    if (!invalid.empty()) one["invalid"] = invalid;
    series.push_back(one);
  }
  j["series"] = series;
  if (!c.lines.empty()) {
    nlohmann::json lines = nlohmann::json::array();
    for (const ReferenceLine& l : c.lines) lines.push_back({{"label", l.label}, {l.horizontal ? "y" : "x", l.value}});
    j["reference_lines"] = lines;
  }
  if (c.identity) j["bands"] = c.identity_bands;
  return j;
}

Rgb colour_scale(double fraction) {
  // viridis at 0, 0.5 and 1 (matplotlib's _viridis_data: #440154, #21918c, #fde725), linear between.
  static const Rgb stops[] = {{68, 1, 84}, {33, 145, 140}, {253, 231, 37}};
  const double f = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  const int i = f < 0.5 ? 0 : 1;
  const double t = (f - 0.5 * i) / 0.5;
  auto mix = [t](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b)};
}

nlohmann::json heat_map_json(const HeatMap& h) {
  nlohmann::json points = nlohmann::json::array(), invalid = nlohmann::json::array();
  for (std::size_t yi = 0; yi < h.y_values.size(); ++yi)
    for (std::size_t xi = 0; xi < h.x_values.size(); ++xi) {
      const std::size_t k = yi * h.x_values.size() + xi;
      if (k >= h.cells.size()) continue;
      if (std::isfinite(h.cells[k])) points.push_back({xi, yi, h.cells[k]});
      else invalid.push_back({{"x", xi}, {"y", yi}, {"reason", k < h.reasons.size() ? h.reasons[k] : ""}});
    }
  nlohmann::json series = {{"name", h.value_label}, {"points", points}};
  if (!invalid.empty()) series["invalid"] = invalid;
  return {{"title", h.title},       {"x_label", h.x_label}, {"y_label", h.y_label},
          {"x_ticks", h.x_values}, {"y_ticks", h.y_values}, {"series", nlohmann::json::array({series})}};
}

}  // namespace frugal::sim::gui

// What frugal-gui's charts show, without ImGui: axes with 1-2-5 ticks (or decades on a log
// scale), tick labels with SI prefixes, and each chart as data (series, reference lines, bands
// around y = x, heat-map cells). chart_draw.cpp draws these; --state-json writes chart_json() of
// every chart drawn, so tests check what is on screen, not only that a window opened.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal::sim::gui {

// One axis: the range drawn, where its ticks go and what they say.
struct Axis {
  double lo = 0, hi = 1;  // the data range widened to the outer ticks
  bool log = false;
  std::vector<double> ticks;
  std::vector<std::string> labels;
  // Where v falls along the axis: 0 at lo, 1 at hi (in log10 space on a log axis).
  double fraction(double v) const;
};

// Ticks at a step of 1, 2 or 5 x 10^k, the smallest such step that covers [lo, hi] in at most
// `max_intervals` intervals; the range widens to the ticks around it (Heckbert, "Nice numbers
// for graph labels", Graphics Gems, 1990). An empty range is widened around its value.
Axis linear_axis(double lo, double hi, int max_intervals = 6);
// Decades on a log axis (lo > 0); when the data spans two decades or less, 1, 2 and 5 x 10^k.
Axis log_axis(double lo, double hi);

// A number as a tick or table shows it: three significant figures with an SI prefix (k, M, G,
// T, P), so 1500 -> "1.5k", 3.14e11 -> "314G"; e-notation beyond the prefixes ("3.14e+23",
// "2e-05"). Never a made-up suffix.
std::string format_si(double v);

enum class SeriesKind { line, scatter, bars, stacked_bars };

struct Series {
  std::string name;
  SeriesKind kind = SeriesKind::line;
  std::vector<double> x, y;         // bars: x is the category's index
  std::vector<std::string> hover;   // one per point; empty: "x, y" is shown
  std::vector<std::string> invalid;  // one per point when some are invalid: why (empty when valid)
  int colour = 0;                    // index into the palette
};

struct ReferenceLine {
  bool horizontal = true;  // y = value, else x = value
  double value = 0;
  std::string label;
};

struct Chart {
  std::string title, x_label, y_label;  // labels carry their units: "GPU-hours", "cost ($)"
  bool x_log = false, y_log = false;
  std::vector<std::string> categories;  // bar charts: one label per x index
  std::vector<Series> series;
  std::vector<ReferenceLine> lines;
  bool identity = false;                // draw y = x
  std::vector<double> identity_bands;   // shaded y = x(1 +- b) for each b (0.10, 0.25)
};

struct ChartAxes {
  Axis x, y;
};

// The axes that hold every valid point, reference line and (linear y) zero; stacked bars stack.
ChartAxes chart_axes(const Chart& c);

// {title, x_label, y_label, x_ticks, y_ticks, series: [{name, points: [[x, y], ...]}]}, tick labels
// as drawn; invalid points are listed under "invalid" with their reasons instead.
nlohmann::json chart_json(const Chart& c, const ChartAxes& axes);

// A grid of values over two inputs (e.g. experts x GPUs -> cost), NaN where a point is invalid.
struct HeatMap {
  std::string title, x_label, y_label, value_label;
  std::vector<std::string> x_values, y_values;
  std::vector<double> cells;         // row-major: y index major, x index minor
  std::vector<std::string> reasons;  // why a cell is invalid; empty when valid
};

// The colour of a value between lo and hi: 0 -> dark blue, 1 -> yellow (viridis end points,
// interpolated through its middle), as {r, g, b} in 0..255.
struct Rgb {
  int r = 0, g = 0, b = 0;
};
Rgb colour_scale(double fraction);

// {title, x_label, y_label, x_ticks, y_ticks, series: [{name: value_label, points: [[x, y, v]]}]}
nlohmann::json heat_map_json(const HeatMap& h);

}  // namespace frugal::sim::gui

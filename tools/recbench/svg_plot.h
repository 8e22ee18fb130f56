// A minimal SVG line chart (no dependency): series of (x, y) points with a legend and axes, for recbench's
// validation curves and audit curves.
#pragma once

#include <string>
#include <vector>

namespace recgrad::recbench {

struct Series {
  std::string label;
  std::vector<double> x, y;
};

/// An SVG document: one polyline per series over shared axes, with tick labels, title and axis names.
std::string line_chart_svg(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<Series>& series);

}  // namespace recgrad::recbench

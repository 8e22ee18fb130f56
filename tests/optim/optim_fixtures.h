// Reading the PyTorch optimizer fixtures (tests/fixtures/make_*_fixtures.py -> tests/data/optim/*.json), shared
// by the trajectory, Muon and variant tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "recgrad.h"

namespace recgrad::testing {

/// The parsed JSON of tests/data/optim/<name>.json; throws when it cannot be opened.
inline nlohmann::json load_optim_fixture(const std::string& name) {
  const std::string path = std::string(RECGRAD_TEST_DATA_DIR) + "/optim/" + name + ".json";
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open fixture " + path);
  return nlohmann::json::parse(file);
}

/// {"shape": [...], "values": [...]} -> a tensor of `dtype` (f32: each f64 value rounded, as torch's .to()).
inline Tensor tensor_from_json(const nlohmann::json& j, DType dtype) {
  const Shape shape = j.at("shape").get<Shape>();
  return to_dtype(from_vector<double>(j.at("values").get<std::vector<double>>(), shape), dtype).detach();
}

/// max |a - b| / max |b|: the error relative to the tensor's scale.
inline double relative_error(const Tensor& got, const Tensor& expected) {
  const auto a = got.to_vector<double>(), b = expected.to_vector<double>();
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / std::max(scale, 1e-30);
}

/// Sets options of group `group` of `optimizer` from names and numbers ("lr" -> 0.1, "amsgrad" -> 1, ...)
/// through load_state_dict, the one place options are read from a name -> value map (so unknown names and
/// values of the wrong kind fail exactly as a bad checkpoint does). The state is left empty.
inline void load_group_options(Optimizer& optimizer, const std::map<std::string, double>& options,
                               std::size_t group = 0) {
  OptimizerStateDict dict;
  for (std::size_t g = 0; g < optimizer.num_groups(); ++g) {
    dict.scalars["param_groups." + std::to_string(g) + ".num_params"] =
        static_cast<double>(optimizer.group_params(g).size());
  }
  for (const auto& [key, value] : options) dict.scalars["param_groups." + std::to_string(group) + "." + key] = value;
  optimizer.load_state_dict(dict);
}

}  // namespace recgrad::testing

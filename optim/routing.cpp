// MuonRec routing: roles from declarations, module types or names (see routing.h),
// then optimizers from roles and overrides.
#include "optim/routing.h"

#include <algorithm>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/shape.h"
#include "nn/attention.h"
#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/gru.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/rms_norm.h"

namespace recgrad {

namespace {

const std::vector<std::pair<ParameterRole, std::string>>& role_names() {
  static const std::vector<std::pair<ParameterRole, std::string>> names = {{ParameterRole::embedding, "embedding"},
                                                                           {ParameterRole::output_head, "output_head"},
                                                                           {ParameterRole::input_layer, "input_layer"},
                                                                           {ParameterRole::hidden, "hidden"},
                                                                           {ParameterRole::norm, "norm"},
                                                                           {ParameterRole::bias, "bias"}};
  return names;
}

// The dotted segments of `name`.
std::vector<std::string> segments(const std::string& name) {
  std::vector<std::string> parts;
  std::stringstream stream(name);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
  return parts;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Glob match: '*' any run of characters, '?' one character (iterative, with backtracking to the last '*').
bool glob_matches(const std::string& pattern, const std::string& name) {
  std::size_t p = 0, n = 0, star = std::string::npos, star_n = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, star_n = n;
    } else if (star != std::string::npos) {
      p = star + 1, n = ++star_n;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The class of a module, for the table ("" for the root or a custom module).
std::string module_type(const nn::Module* module) {
  if (module == nullptr) return "";
  if (dynamic_cast<const nn::Embedding*>(module)) return "Embedding";
  if (dynamic_cast<const nn::Linear*>(module)) return "Linear";
  if (dynamic_cast<const nn::LayerNorm*>(module)) return "LayerNorm";
  if (dynamic_cast<const nn::RMSNorm*>(module)) return "RMSNorm";
  if (dynamic_cast<const nn::GRU*>(module)) return "GRU";
  if (dynamic_cast<const nn::Conv1d*>(module)) return "Conv1d";
  if (dynamic_cast<const nn::Conv2d*>(module)) return "Conv2d";
  if (dynamic_cast<const nn::MultiheadAttention*>(module)) return "MultiheadAttention";
  if (dynamic_cast<const nn::GroupedQueryAttention*>(module)) return "GroupedQueryAttention";
  return "";
}

bool is_bias_name(const std::string& leaf) { return contains(leaf, "bias"); }

// Rule 2: the role implied by the owning module's type; nullopt when the type says nothing.
std::optional<ParameterRole> role_from_module(const std::string& type, const std::string& leaf, const Shape& shape) {
  if (type.empty()) return std::nullopt;
  if (type == "Embedding") return ParameterRole::embedding;
  if (type == "LayerNorm" || type == "RMSNorm") return is_bias_name(leaf) ? ParameterRole::bias : ParameterRole::norm;
  if (shape.size() < 2) return ParameterRole::bias;  // Linear/GRU/Conv/attention biases
  return ParameterRole::hidden;
}

}  // namespace

std::string to_string(ParameterRole role) {
  for (const auto& [r, name] : role_names()) {
    if (r == role) return name;
  }
  return "unknown";
}

ParameterRole parameter_role_from_string(const std::string& name) {
  std::string valid;
  for (const auto& [role, role_name] : role_names()) {
    if (role_name == name) return role;
    valid += (valid.empty() ? "" : ", ") + role_name;
  }
  throw Error(detail::concat("parameter role '", name, "' is unknown (expected one of ", valid, ")"));
}

std::string to_string(OptimizerKind kind) { return kind == OptimizerKind::muon ? "Muon" : "AdamW"; }

bool name_matches(const std::string& pattern, const std::string& name) {
  if (pattern.rfind("re:", 0) == 0) {
    try {
      return std::regex_match(name, std::regex(pattern.substr(3), std::regex::ECMAScript));
    } catch (const std::regex_error& error) {
      throw Error(detail::concat("routing: malformed regex '", pattern.substr(3), "': ", error.what()));
    }
  }
  return glob_matches(pattern, name);
}

namespace {
// Whether a dotted segment of `name` says "output head".
bool has_head_segment(const std::string& name) {
  static const std::set<std::string> head_segments = {"head",         "lm_head",    "output",
                                                      "output_layer", "classifier", "logits"};
  for (const std::string& part : segments(name)) {
    if (head_segments.count(part)) return true;
  }
  return false;
}
}  // namespace

ParameterRole role_from_name(const std::string& name, const Shape& shape) {
  const std::vector<std::string> parts = segments(name);
  const std::string leaf = parts.empty() ? name : parts.back();
  if (shape.size() < 2) return is_bias_name(leaf) ? ParameterRole::bias : ParameterRole::norm;
  if (has_head_segment(name)) return ParameterRole::output_head;
  for (const std::string& part : parts) {
    if (contains(part, "emb")) return ParameterRole::embedding;
  }
  return ParameterRole::hidden;
}

std::vector<ClassifiedParameter> classify_parameters(const nn::Module& model, const ParameterRoles& declared) {
  std::map<std::string, const nn::Module*> modules;  // dotted path -> module ("" is the root)
  modules[""] = &model;
  for (const auto& [path, module] : model.named_modules()) modules[path] = module.get();

  std::vector<ClassifiedParameter> out;
  std::vector<bool> declaration_used(declared.size(), false);
  bool seen_conv = false;
  for (const auto& [name, param] : model.named_parameters()) {
    if (!param.requires_grad()) continue;
    ClassifiedParameter entry;
    entry.name = name;
    entry.param = param;
    const std::size_t dot = name.rfind('.');
    const std::string owner = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
    const auto module = modules.find(owner);
    entry.module_type = module_type(module == modules.end() ? nullptr : module->second);
    if (entry.module_type == "GRU" && (leaf.rfind("weight_ih_l", 0) == 0 || leaf.rfind("weight_hh_l", 0) == 0)) {
      entry.gates = 3;
    }
    const bool is_conv_kernel = (entry.module_type == "Conv1d" || entry.module_type == "Conv2d") && leaf == "weight";

    // 1. declared (the last matching declaration wins, as overrides do)
    std::optional<ParameterRole> role;
    for (std::size_t d = 0; d < declared.size(); ++d) {
      if (name_matches(declared[d].first, name)) {
        role = declared[d].second;
        declaration_used[d] = true;
      }
    }
    if (role) {
      entry.role = *role;
      entry.role_source = "declared";
    } else if (auto by_module = role_from_module(entry.module_type, leaf, param.shape())) {
      // 2. module type; the first conv kernel reads the input; a hidden matrix named like a head is the head
      entry.role = (is_conv_kernel && !seen_conv) ? ParameterRole::input_layer : *by_module;
      entry.role_source = "module";
      if (entry.role == ParameterRole::hidden && has_head_segment(name)) {
        entry.role = ParameterRole::output_head;
        entry.role_source = "module+name";
      }
    } else {
      // 3. name and shape
      entry.role = role_from_name(name, param.shape());
      entry.role_source = "name";
    }
    if (is_conv_kernel) seen_conv = true;
    out.push_back(std::move(entry));
  }
  for (std::size_t d = 0; d < declared.size(); ++d) {
    RG_CHECK(declaration_used[d], "routing: the declared role '", to_string(declared[d].second), "' for '",
             declared[d].first, "' matches no trainable parameter of the model");
  }
  return out;
}

RoutingTable route_parameters(const std::vector<ClassifiedParameter>& parameters, const RoutingConfig& config) {
  RoutingTable table;
  table.config_name = config.name;
  std::vector<bool> override_used(config.overrides.size(), false);
  std::set<std::string> names;
  for (const ClassifiedParameter& p : parameters) {
    RG_CHECK(names.insert(p.name).second, "routing: parameter '", p.name, "' appears twice");
    RoutedParameter row;
    row.name = p.name;
    row.param = p.param;
    row.role = p.role;
    row.role_source = p.role_source;
    row.module_type = p.module_type;
    const auto by_role = config.optimizer_for_role.find(p.role);
    RG_CHECK(by_role != config.optimizer_for_role.end(), "routing config '", config.name, "': no optimizer for role '",
             to_string(p.role), "' (parameter '", p.name, "')");
    row.optimizer = by_role->second;
    std::optional<double> lr, weight_decay;
    for (std::size_t o = 0; o < config.overrides.size(); ++o) {
      const RoutingOverride& rule = config.overrides[o];
      if (!name_matches(rule.pattern, p.name)) continue;
      override_used[o] = true;
      row.override_pattern = rule.pattern;
      if (rule.optimizer) row.optimizer = *rule.optimizer;
      if (rule.lr) lr = rule.lr;
      if (rule.weight_decay) weight_decay = rule.weight_decay;
    }
    const bool muon = row.optimizer == OptimizerKind::muon;
    row.lr = lr.value_or(muon ? config.muon_lr : config.adamw_lr);
    row.weight_decay = weight_decay.value_or(muon ? config.muon_weight_decay : config.adamw_weight_decay);
    RG_CHECK(!muon || p.param.dim() >= 2, "routing config '", config.name, "': parameter '", p.name, "' (shape ",
             p.param.shape(), ", role ", to_string(p.role),
             ") is routed to Muon, which needs a matrix (>= 2 dimensions); route it to AdamW");
    row.blocks = (muon && config.gru_per_gate) ? p.gates : 1;
    table.rows.push_back(std::move(row));
  }
  for (std::size_t o = 0; o < config.overrides.size(); ++o) {
    RG_CHECK(override_used[o], "routing config '", config.name, "': override pattern '", config.overrides[o].pattern,
             "' matches no parameter");
  }
  return table;
}

RoutingTable route_parameters(const nn::Module& model, const RoutingConfig& config, const ParameterRoles& declared) {
  return route_parameters(classify_parameters(model, declared), config);
}

std::vector<const RoutedParameter*> RoutingTable::rows_for(OptimizerKind kind) const {
  std::vector<const RoutedParameter*> out;
  for (const RoutedParameter& row : rows) {
    if (row.optimizer == kind) out.push_back(&row);
  }
  return out;
}

const RoutedParameter& RoutingTable::at(const std::string& name) const {
  for (const RoutedParameter& row : rows) {
    if (row.name == name) return row;
  }
  throw Error(detail::concat("routing table '", config_name, "': no parameter '", name, "'"));
}

namespace {
std::string number_text(double value) {
  std::ostringstream out;
  out << std::setprecision(6) << value;
  return out.str();
}
}  // namespace

std::string RoutingTable::to_text() const {
  std::vector<std::vector<std::string>> cells = {{"parameter", "shape", "role", "optimizer", "lr", "wd"}};
  for (const RoutedParameter& row : rows) {
    std::string optimizer = to_string(row.optimizer);
    if (row.blocks > 1) optimizer += " (" + std::to_string(row.blocks) + " blocks)";
    std::string role = to_string(row.role) + " (" + row.role_source + ")";
    if (!row.override_pattern.empty()) role += " override " + row.override_pattern;
    cells.push_back(
        {row.name, shape_str(row.param.shape()), role, optimizer, number_text(row.lr), number_text(row.weight_decay)});
  }
  std::vector<std::size_t> widths(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (std::size_t c = 0; c < line.size(); ++c) widths[c] = std::max(widths[c], line[c].size());
  }
  std::ostringstream out;
  out << "routing (" << config_name << ")\n";
  for (const auto& line : cells) {
    for (std::size_t c = 0; c < line.size(); ++c) {
      if (c + 1 == line.size()) {
        out << line[c] << "\n";  // the last column unpadded: no trailing spaces
      } else {
        out << std::left << std::setw(static_cast<int>(widths[c])) << line[c] << "  ";
      }
    }
  }
  for (OptimizerKind kind : {OptimizerKind::muon, OptimizerKind::adamw}) {
    std::int64_t tensors = 0, elements = 0;
    for (const RoutedParameter* row : rows_for(kind)) ++tensors, elements += row->param.numel();
    out << to_string(kind) << ": " << tensors << " tensors, " << elements << " parameters\n";
  }
  return out.str();
}

std::string RoutingTable::to_json() const {
  nlohmann::json json;
  json["config"] = config_name;
  json["parameters"] = nlohmann::json::array();
  for (const RoutedParameter& row : rows) {
    json["parameters"].push_back({{"name", row.name},
                                  {"shape", row.param.shape()},
                                  {"role", to_string(row.role)},
                                  {"role_source", row.role_source},
                                  {"module", row.module_type},
                                  {"optimizer", to_string(row.optimizer)},
                                  {"lr", row.lr},
                                  {"weight_decay", row.weight_decay},
                                  {"blocks", row.blocks},
                                  {"override", row.override_pattern}});
  }
  return json.dump();
}

}  // namespace recgrad

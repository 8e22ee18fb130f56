// MuonRec routing: which optimizer updates which parameter. Muon orthogonalises a
// matrix-shaped update, which suits hidden weight matrices (and conv kernels,
// flattened to [out, in*kh*kw]) but not embeddings (rows are independent lookups),
// biases or norm gains (vectors); AdamW takes those. The routing is a table, one row
// per named parameter (name, shape, role, optimizer, lr, weight decay), printed
// before training because an audit of an optimizer starts with what it updates.
//
// How a parameter's role is found (first rule that applies):
//   1. declared: the model passes ParameterRoles, dotted name (or glob) -> role.
//      Models declare what only they know: which matrix is the output head (Caser's
//      output layer is an nn::Embedding table, SASRec scores with its item embedding),
//      which convolutions read the raw input.
//   2. module type, recorded when the model is walked: the weight of an nn::Embedding
//      is an embedding; LayerNorm/RMSNorm tensors are norm gains (and their biases
//      biases); 1-D tensors named "*bias*" are biases; Linear, GRU, attention
//      projections and conv kernels (>= 2-D) are hidden, except that a hidden
//      matrix whose name has a head segment (see 3) is the output head; the first
//      convolution registered (in named_parameters order) is the input layer.
//   3. name and shape, for tensors registered directly on a custom module: a dotted
//      segment "head", "lm_head", "output", "output_layer", "classifier" or "logits"
//      marks an output head; a segment containing "emb" marks an embedding; other
//      >= 2-D tensors are hidden; 1-D or 0-D tensors are biases when named "*bias*",
//      norm gains otherwise.
// Then the config maps roles to optimizers, and name-pattern overrides (glob or
// regex on the dotted name) come last and win.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "optim/muon.h"

namespace recgrad {

namespace nn {
class Module;
}

/// What a parameter is for; routing decides on this, not on the name.
enum class ParameterRole {
  embedding,    // a lookup table (item, user, position embeddings)
  output_head,  // the last projection to item scores
  input_layer,  // the first layer on the raw input (e.g. the first conv); keller routes it to AdamW
  hidden,       // a hidden weight matrix or conv kernel
  norm,         // a LayerNorm/RMSNorm gain
  bias,         // a bias vector (or a table of per-item biases)
};

/// "embedding", "output_head", ... (the names used in tables and JSON).
std::string to_string(ParameterRole role);
/// The role named `name`; throws listing the valid names.
ParameterRole parameter_role_from_string(const std::string& name);

/// Roles a model declares: dotted parameter name or pattern (see name_matches) -> role.
using ParameterRoles = std::vector<std::pair<std::string, ParameterRole>>;

/// The two optimizers a hybrid combines.
enum class OptimizerKind { muon, adamw };
std::string to_string(OptimizerKind kind);  // "Muon", "AdamW"

/// Whether dotted name `name` matches `pattern`: a regex (ECMAScript, whole name) when
/// the pattern starts with "re:", else a glob in which '*' matches any run of
/// characters (dots included) and '?' one character. Throws on a malformed regex.
bool name_matches(const std::string& pattern, const std::string& name);

/// A change to the rule for the parameters whose name matches `pattern`: another
/// optimizer and/or another lr / weight decay. Later overrides win over earlier ones.
struct RoutingOverride {
  std::string pattern;
  std::optional<OptimizerKind> optimizer;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

/// The AdamW numbers of the MuonRec recipe (presets.h), which every RoutingConfig starts with.
inline constexpr double kMuonRecAdamWLr = 1e-2;
inline constexpr double kMuonRecAdamWWeightDecay = 1e-5;

/// The routing rule: the optimizer per role, each optimizer's lr and weight decay, overrides.
/// The lr and weight decay are the only ones the hybrid uses (each routed row carries its own).
struct RoutingConfig {
  std::string name = "custom";  // the preset's name, printed with the table
  std::map<ParameterRole, OptimizerKind> optimizer_for_role = {
      {ParameterRole::embedding, OptimizerKind::adamw},  {ParameterRole::output_head, OptimizerKind::adamw},
      {ParameterRole::input_layer, OptimizerKind::muon}, {ParameterRole::hidden, OptimizerKind::muon},
      {ParameterRole::norm, OptimizerKind::adamw},       {ParameterRole::bias, OptimizerKind::adamw}};
  double muon_lr = MuonOptions{}.lr;  // Muon's defaults are MuonRec's
  double muon_weight_decay = MuonOptions{}.weight_decay;
  double adamw_lr = kMuonRecAdamWLr;
  double adamw_weight_decay = kMuonRecAdamWWeightDecay;
  std::vector<RoutingOverride> overrides;
  /// GRU weights ([3H, in], gates r, z, n) orthogonalised as three [H, in] blocks
  /// instead of one matrix.
  bool gru_per_gate = false;
};

/// A named parameter with its role and where the role came from.
struct ClassifiedParameter {
  std::string name;
  Tensor param;
  ParameterRole role = ParameterRole::hidden;
  std::string role_source;  // "declared", "module", "module+name" or "name"
  std::string module_type;  // "Linear", "Embedding", "GRU", "Conv2d", ... or "" when unknown
  std::int64_t gates = 1;   // 3 for a GRU weight_ih/weight_hh (rows r, z, n), else 1
};

/// One row of the routing table.
struct RoutedParameter {
  std::string name;
  Tensor param;
  ParameterRole role = ParameterRole::hidden;
  std::string role_source;
  std::string module_type;
  OptimizerKind optimizer = OptimizerKind::adamw;
  double lr = 0;
  double weight_decay = 0;
  std::int64_t blocks = 1;       // row blocks orthogonalised separately (3 for a GRU weight per gate)
  std::string override_pattern;  // the last override that matched, or ""
};

/// Every trainable parameter of a model, routed; printable as text and JSON.
struct RoutingTable {
  std::string config_name;
  std::vector<RoutedParameter> rows;

  /// The rows routed to `kind`.
  std::vector<const RoutedParameter*> rows_for(OptimizerKind kind) const;
  /// The row of parameter `name`; throws when there is none.
  const RoutedParameter& at(const std::string& name) const;
  /// An aligned text table: name, shape, role (source), optimizer, lr, wd; then the
  /// parameter counts per optimizer.
  std::string to_text() const;
  /// {"config": ..., "parameters": [{"name", "shape", "role", "role_source",
  /// "module", "optimizer", "lr", "weight_decay", "blocks", "override"}, ...]}.
  std::string to_json() const;
};

/// The trainable parameters of `model` (named_parameters order) with their roles,
/// by the rules at the top of this file. Throws when a declared name or pattern
/// matches no parameter (a typo would otherwise silently change the routing).
std::vector<ClassifiedParameter> classify_parameters(const nn::Module& model, const ParameterRoles& declared = {});

/// The role rule of step 3 (name and shape only), for tensors without a module.
ParameterRole role_from_name(const std::string& name, const Shape& shape);

/// Routes classified parameters by `config`. Throws when a parameter with fewer
/// than 2 dimensions is sent to Muon, or when an override's pattern matches nothing.
RoutingTable route_parameters(const std::vector<ClassifiedParameter>& parameters, const RoutingConfig& config);

/// classify_parameters then route_parameters.
RoutingTable route_parameters(const nn::Module& model, const RoutingConfig& config,
                              const ParameterRoles& declared = {});

}  // namespace recgrad

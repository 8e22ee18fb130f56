// The hybrid presets (see presets.h for the recipes).
#include "optim/presets.h"

#include "core/error.h"

namespace recgrad {

HybridPreset muonrec_preset(bool gru_per_gate) {
  HybridPreset preset;
  RoutingConfig& routing = preset.routing;
  routing.name = "muonrec";
  routing.optimizer_for_role = {
      {ParameterRole::embedding, OptimizerKind::adamw},  {ParameterRole::output_head, OptimizerKind::muon},
      {ParameterRole::input_layer, OptimizerKind::muon}, {ParameterRole::hidden, OptimizerKind::muon},
      {ParameterRole::norm, OptimizerKind::adamw},       {ParameterRole::bias, OptimizerKind::adamw}};
  routing.muon_lr = 0.02;
  routing.muon_weight_decay = 0.0;
  routing.adamw_lr = 1e-2;
  routing.adamw_weight_decay = 1e-5;
  routing.gru_per_gate = gru_per_gate;

  preset.muon.lr = routing.muon_lr;
  preset.muon.weight_decay = routing.muon_weight_decay;
  preset.muon.momentum = 0.95;
  preset.muon.nesterov = true;
  preset.muon.ns_steps = 5;

  preset.adamw.lr = routing.adamw_lr;
  preset.adamw.weight_decay = routing.adamw_weight_decay;
  preset.adamw.beta1 = 0.9;
  preset.adamw.beta2 = 0.95;
  return preset;
}

HybridPreset keller_preset(bool gru_per_gate) {
  HybridPreset preset = muonrec_preset(gru_per_gate);
  preset.routing.name = "keller";
  preset.routing.optimizer_for_role[ParameterRole::output_head] = OptimizerKind::adamw;
  preset.routing.optimizer_for_role[ParameterRole::input_layer] = OptimizerKind::adamw;
  return preset;
}

std::vector<std::string> hybrid_preset_names() { return {"muonrec", "keller"}; }

HybridPreset hybrid_preset(const std::string& name, bool gru_per_gate) {
  if (name == "muonrec") return muonrec_preset(gru_per_gate);
  if (name == "keller") return keller_preset(gru_per_gate);
  throw Error(detail::concat("hybrid preset '", name, "' is unknown (expected muonrec or keller)"));
}

}  // namespace recgrad

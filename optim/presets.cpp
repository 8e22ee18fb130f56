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
  routing.gru_per_gate = gru_per_gate;
  // Muon: MuonOptions' defaults are MuonRec's (lr 0.02, wd 0, momentum 0.95, Nesterov, 5 Newton-Schulz steps).
  // AdamW: the MuonRec numbers, betas (0.9, 0.95). The routing (which the hybrid reads) starts from the same
  // numbers (RoutingConfig's defaults); the option structs hold them too, so that a Muon or AdamW built from
  // the preset by hand matches the hybrid.
  preset.adamw = {.lr = kMuonRecAdamWLr, .beta2 = 0.95, .weight_decay = kMuonRecAdamWWeightDecay};
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

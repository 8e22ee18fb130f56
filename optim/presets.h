// Hybrid presets: a routing rule plus the two optimizers' settings, by name.
//
//   muonrec  the published sequential-recommendation recipe: Muon (lr 0.02, wd 0,
//            momentum 0.95, Nesterov, 5 Newton-Schulz steps) on every >= 2-D
//            weight that is not an embedding, the output layer, GRU weights and
//            conv kernels included; AdamW (lr 1e-2, wd 1e-5, betas (0.9, 0.95)) on
//            embeddings, biases and norm gains.
//   keller   Keller Jordan's rule for Muon (KellerJordan/Muon README: "the first and
//            last layer should use AdamW"): as muonrec, but the output head and the
//            input layer (the first convolution) go to AdamW as well. Same numbers as
//            muonrec, so the two differ only in routing.
// Both orthogonalise a GRU weight [3H, in] as one matrix unless gru_per_gate.
#pragma once

#include <string>
#include <vector>

#include "optim/adamw.h"
#include "optim/muon.h"
#include "optim/routing.h"

namespace recgrad {

/// `routing` carries the lr and weight decay of both optimizers (each routed row gets its own, and the hybrid
/// reads only those); `muon` and `adamw` carry every other setting, and the same lr and weight decay.
struct HybridPreset {
  RoutingConfig routing;
  MuonOptions muon;
  AdamWOptions adamw;
};

HybridPreset muonrec_preset(bool gru_per_gate = false);
HybridPreset keller_preset(bool gru_per_gate = false);
/// The preset called `name` ("muonrec" or "keller"); throws listing the names.
HybridPreset hybrid_preset(const std::string& name, bool gru_per_gate = false);
std::vector<std::string> hybrid_preset_names();

}  // namespace recgrad

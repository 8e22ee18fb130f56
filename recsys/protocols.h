// The comparison protocols recbench runs (`--protocol`): what a model or optimizer name means under each, and
// the training settings each fixes.
//
//   fixed    the models and optimizers as named (recsys/zoo.h, recsys/training_optimizer.h), each optimizer
//            at its own defaults, with the trainer's settings as given: recbench's quick first look
//   muonrec  LaVieEnRose365/MuonRec experiments/traditional as its code runs: each model's MuonRec variant
//            (recsys/sequential/*_muonrec.h), MuonRec's AdamW baseline (lr 1e-2, wd 1e-6) and its Muon hybrid
//            (Muon lr 0.02 on every >= 2-D non-embedding weight, the output layer included; auxiliary Adam lr 1e-2,
//            wd 1e-5, betas (0.9, 0.95), eps 1e-10), batch 1024, BCE pooled over the positive and 1 uniform
//            negative that is never the target, cosine annealing of the lr per epoch (T_max 500, eta_min 1e-6),
//            model selection on validation NDCG@20, early stop after 10 evaluations without improvement, at most
//            500 epochs
//   tuned    the models and optimizers as named, each optimizer at its own best settings: its learning rates
//            (both groups of a hybrid) and weight decay chosen on validation from a grid that brackets the
//            winner, averaged over tuning seeds; then every optimizer runs the final seeds at its chosen point
//            with the same budget (tools/recbench/main.cpp runs the search)
#pragma once

#include <string>

#include "recsys/trainer.h"

namespace recgrad::recsys {

/// The zoo model that runs for `name` under `protocol` ("fixed" and "tuned": name itself; "muonrec": its _muonrec variant).
/// Throws for an unknown protocol or a model the protocol has no variant of.
std::string protocol_model(const std::string& protocol, const std::string& name);

/// The optimizer that runs for `name` under `protocol` ("muonrec": adamw -> adamw_muonrec, muon -> muon_muonrec).
std::string protocol_optimizer(const std::string& protocol, const std::string& name);

/// `options` with the protocol's training settings (none for "fixed" and "tuned"), and its name recorded in
/// extra_configuration["protocol"] so that a checkpoint is never resumed under another protocol.
TrainerOptions protocol_trainer_options(const std::string& protocol, TrainerOptions options);

/// "fixed, muonrec, tuned".
std::string protocol_names();

}  // namespace recgrad::recsys

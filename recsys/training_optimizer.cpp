#include "recsys/training_optimizer.h"

#include <sstream>

#include "optim/adam.h"
#include "optim/hybrid.h"
#include "optim/lion.h"
#include "optim/lr_schedule.h"
#include "optim/presets.h"

namespace recgrad::recsys {
namespace {

/// One Optimizer over every parameter of the model, one group with the parameters' dotted names.
template <typename Opt>
class SingleOptimizer : public TrainingOptimizer {
 public:
  SingleOptimizer(std::string name, SequentialRecommender& model, typename Opt::Options options)
      : name_(std::move(name)) {
    typename Opt::Group group{{}, {}, options};
    for (const auto& [param_name, param] : model.named_parameters()) {
      group.params.push_back(param);
      group.names.push_back(param_name);
      audited_.push_back({param_name, param, name_});
    }
    optimizer_ = std::make_unique<Opt>(std::vector<typename Opt::Group>{group});
  }
  void zero_grad() override { optimizer_->zero_grad(); }
  void step() override { optimizer_->step(); }
  void set_lr_factor(double factor) override { recgrad::set_lr_factor(*optimizer_, factor); }
  void set_lr_from_base(const std::function<double(double)>& schedule) override {
    optimizer_->set_lr_from_base(schedule);
  }
  OptimizerStateDict state_dict() const override { return optimizer_->state_dict(); }
  void load_state_dict(const OptimizerStateDict& dict) override { optimizer_->load_state_dict(dict); }
  std::string describe() const override { return name_ + " on all parameters\n" + optimizer_->describe(); }
  std::string name() const override { return name_; }
  std::vector<AuditedParameter> audited_parameters() const override { return audited_; }

 private:
  std::string name_;
  std::unique_ptr<Opt> optimizer_;
  std::vector<AuditedParameter> audited_;
};

/// The routing of `model`: the preset's, except that a generative model's output head (its token head, an
/// LM head) goes to AdamW, as MuonRec's experiments/generative route lm_head (its traditional experiments put
/// the item output layer on Muon).
RoutingConfig routing_for(const SequentialRecommender& model, RoutingConfig routing) {
  if (model.is_generative()) routing.optimizer_for_role[ParameterRole::output_head] = OptimizerKind::adamw;
  return routing;
}

/// Muon + AdamW routed by a preset (optim/presets.h).
class Hybrid : public TrainingOptimizer {
 public:
  Hybrid(std::string name, SequentialRecommender& model, const HybridPreset& preset, HybridMuon variant)
      : name_(std::move(name)),
        optimizer_(route_parameters(model, routing_for(model, preset.routing), model.parameter_roles()), preset.muon,
                   preset.adamw, variant) {}
  void zero_grad() override { optimizer_.zero_grad(); }
  void step() override { optimizer_.step(); }
  bool needs_closure() const override { return optimizer_.needs_closure(); }
  Tensor step(const std::function<Tensor()>& closure) override { return optimizer_.step(closure); }
  void set_lr_factor(double factor) override { optimizer_.set_lr_factor(factor); }
  void set_lr_from_base(const std::function<double(double)>& schedule) override {
    optimizer_.set_lr_from_base(schedule);
  }
  OptimizerStateDict state_dict() const override { return optimizer_.state_dict(); }
  void load_state_dict(const OptimizerStateDict& dict) override { optimizer_.load_state_dict(dict); }
  std::string describe() const override { return name_ + " (Muon + AdamW hybrid)\n" + optimizer_.describe(); }
  std::string name() const override { return name_; }
  std::vector<AuditedParameter> audited_parameters() const override { return optimizer_.audited_parameters(); }
  OrthogonalizedProvider orthogonalized_provider() const override { return optimizer_.orthogonalized_provider(); }

 private:
  std::string name_;
  HybridOptimizer optimizer_;
};

// AdamW or Lion on every parameter: the options' defaults, with RecBole's lr 1e-3 and no weight decay for
// AdamW (Caser's L2 term aside), and the overrides.
template <typename Opt>
OptimizerEntry single(std::string name, std::string description, typename Opt::Options defaults) {
  return {name, std::move(description), OptimizerOverrides{defaults.lr, std::nullopt, defaults.weight_decay},
          [name, defaults](SequentialRecommender& model, const OptimizerOverrides& overrides) {
            typename Opt::Options options = defaults;
            if (overrides.lr) options.lr = *overrides.lr;
            if (overrides.weight_decay) options.weight_decay = *overrides.weight_decay;
            return std::make_unique<SingleOptimizer<Opt>>(name, model, options);
          }};
}

// A Muon + AdamW hybrid from preset `preset`; the overrides change the routing's lr and weight decay (which
// each routed parameter carries) and, to keep the preset coherent, the options' copies.
OptimizerEntry hybrid(std::string name, std::string description, std::string preset, HybridMuon variant,
                      std::function<void(HybridPreset&)> adjust = {}) {
  HybridPreset base = hybrid_preset(preset);
  if (adjust) adjust(base);
  return {name, std::move(description),
          OptimizerOverrides{base.routing.muon_lr, base.routing.adamw_lr, base.routing.muon_weight_decay},
          [name, preset, variant, adjust](SequentialRecommender& model, const OptimizerOverrides& overrides) {
            HybridPreset chosen = hybrid_preset(preset);
            if (adjust) adjust(chosen);
            if (overrides.lr) chosen.routing.muon_lr = chosen.muon.lr = *overrides.lr;
            if (overrides.weight_decay) {  // one decoupled decay for the whole model, as the baselines have
              chosen.routing.muon_weight_decay = chosen.muon.weight_decay = *overrides.weight_decay;
              chosen.routing.adamw_weight_decay = chosen.adamw.weight_decay = *overrides.weight_decay;
            }
            if (overrides.adamw_lr) chosen.routing.adamw_lr = chosen.adamw.lr = *overrides.adamw_lr;
            return std::make_unique<Hybrid>(name, model, chosen, variant);
          }};
}

// The `adamw` entry's settings (RecBole's lr 1e-3, no weight decay, betas (0.9, 0.999), eps 1e-8).
constexpr AdamWOptions kBaselineAdamW{.lr = 1e-3, .weight_decay = 0.0};

// A hybrid whose AdamW part is the `adamw` baseline itself, so that comparing the two isolates Muon: the
// embeddings, biases and norms train identically on both sides, and only the hidden matrices change optimizer.
// (MuonRec's own auxiliary Adam, lr 1e-2 with betas (0.9, 0.95), is `muon_muonrec`.)
void baseline_adamw_part(HybridPreset& preset) {
  preset.adamw = kBaselineAdamW;
  preset.routing.adamw_lr = kBaselineAdamW.lr;
  preset.routing.adamw_weight_decay = kBaselineAdamW.weight_decay;
}

}  // namespace

const std::vector<OptimizerEntry>& optimizer_zoo() {
  static const std::vector<OptimizerEntry> zoo = {
      single<AdamW>("adamw", "AdamW on every parameter (lr 1e-3, no weight decay: RecBole's defaults)", kBaselineAdamW),
      hybrid("muon",
             "MuonRec hybrid: Muon (lr 0.02) on hidden >= 2-D weights incl. the output layer, GRU weights and conv "
             "kernels; the adamw baseline's AdamW on embeddings, biases and norm gains",
             "muonrec", HybridMuon::muon, baseline_adamw_part),
      hybrid("keller", "the hybrid with the output head and the first (input) layer on AdamW as well", "keller",
             HybridMuon::muon, baseline_adamw_part),
      hybrid("normuon", "the MuonRec routing with NorMuon (row-normalised Newton-Schulz output) on the Muon rows",
             "muonrec", HybridMuon::normuon, baseline_adamw_part),
      hybrid("mvr", "the MuonRec routing with Muon-MVR (momentum variance reduction; two extra gradients a step)",
             "muonrec", HybridMuon::mvr, baseline_adamw_part),
      single<Lion>("lion", "Lion on every parameter (lr 1e-4, no weight decay)", LionOptions{}),
      // --protocol muonrec: the two optimizers exactly as MuonRec's code configures them
      single<AdamW>("adamw_muonrec",
                    "MuonRec's AdamW baseline: lr 1e-2, wd 1e-6, betas (0.9, 0.999), eps 1e-8 (--protocol muonrec)",
                    {.lr = 1e-2, .weight_decay = 1e-6}),
      hybrid("muon_muonrec",
             "MuonRec's Muon: the muonrec hybrid with its auxiliary Adam's eps 1e-10 (--protocol muonrec)", "muonrec",
             HybridMuon::muon, [](HybridPreset& preset) { preset.adamw.eps = 1e-10; }),
  };
  return zoo;
}

const OptimizerEntry& find_optimizer(const std::string& name) {
  std::string known;
  for (const OptimizerEntry& entry : optimizer_zoo()) {
    if (entry.name == name) return entry;
    known += (known.empty() ? "" : ", ") + entry.name;
  }
  throw Error(detail::concat("unknown optimizer '", name, "' (known: ", known, ")"));
}

std::unique_ptr<TrainingOptimizer> make_training_optimizer(const std::string& name, SequentialRecommender& model,
                                                           const OptimizerOverrides& overrides) {
  return find_optimizer(name).make(model, overrides);
}

std::vector<std::string> training_optimizer_names() {
  std::vector<std::string> names;
  for (const OptimizerEntry& entry : optimizer_zoo()) names.push_back(entry.name);
  return names;
}

}  // namespace recgrad::recsys

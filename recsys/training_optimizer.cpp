#include "recsys/training_optimizer.h"

#include <sstream>

#include "optim/adamw.h"
#include "optim/hybrid.h"
#include "optim/lion.h"
#include "optim/lr_schedule.h"
#include "optim/presets.h"

namespace recgrad::recsys {
namespace {

/// One Optimizer over every parameter of the model, one group with the parameters' dotted names.
template <typename Opt, typename Options>
class SingleOptimizer : public TrainingOptimizer {
 public:
  SingleOptimizer(std::string name, SequentialRecommender& model, Options options) : name_(std::move(name)) {
    ParamGroup group;
    for (const auto& [param_name, param] : model.named_parameters()) {
      group.params.push_back(param);
      group.names.push_back(param_name);
      audited_.push_back({param_name, param, name_});
    }
    optimizer_ = std::make_unique<Opt>(std::vector<ParamGroup>{group}, options);
    std::ostringstream text;
    text << name_ << " on all " << group.params.size() << " parameters:";
    for (const auto& [key, value] : options.to_map()) text << " " << key << "=" << value;
    describe_ = text.str();
  }
  void zero_grad() override { optimizer_->zero_grad(); }
  void step() override { optimizer_->step(); }
  void set_lr_factor(double factor) override { recgrad::set_lr_factor(*optimizer_, factor); }
  OptimizerStateDict state_dict() const override { return optimizer_->state_dict(); }
  void load_state_dict(const OptimizerStateDict& dict) override { optimizer_->load_state_dict(dict); }
  std::string describe() const override { return describe_; }
  std::string name() const override { return name_; }
  std::vector<AuditedParameter> audited_parameters() const override { return audited_; }

 private:
  std::string name_, describe_;
  std::unique_ptr<Opt> optimizer_;
  std::vector<AuditedParameter> audited_;
};

/// Muon + AdamW routed by a preset (optim/presets.h).
class Hybrid : public TrainingOptimizer {
 public:
  Hybrid(std::string name, SequentialRecommender& model, HybridPreset preset, HybridMuon variant = HybridMuon::muon)
      : name_(std::move(name)),
        optimizer_(route_parameters(model, preset.routing, model.parameter_roles()), preset.muon, preset.adamw,
                   variant) {}
  void zero_grad() override { optimizer_.zero_grad(); }
  void step() override { optimizer_.step(); }
  bool needs_closure() const override { return optimizer_.needs_closure(); }
  Tensor step(const std::function<Tensor()>& closure) override { return optimizer_.step(closure); }
  void set_lr_factor(double factor) override { optimizer_.set_lr_factor(factor); }
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

}  // namespace

std::vector<std::string> training_optimizer_names() { return {"adamw", "muon", "keller", "normuon", "mvr", "lion"}; }

std::unique_ptr<TrainingOptimizer> make_training_optimizer(const std::string& name, SequentialRecommender& model,
                                                           const OptimizerOverrides& overrides) {
  if (name == "adamw") {
    // RecBole's default for these models: lr 1e-3; no weight decay (Caser's L2 term aside).
    AdamWOptions options{.lr = 1e-3, .weight_decay = 0.0};
    if (overrides.lr > 0) options.lr = overrides.lr;
    if (overrides.weight_decay >= 0) options.weight_decay = overrides.weight_decay;
    return std::make_unique<SingleOptimizer<AdamW, AdamWOptions>>("adamw", model, options);
  }
  if (name == "lion") {
    LionOptions options{.lr = 1e-4, .weight_decay = 0.0};
    if (overrides.lr > 0) options.lr = overrides.lr;
    if (overrides.weight_decay >= 0) options.weight_decay = overrides.weight_decay;
    return std::make_unique<SingleOptimizer<Lion, LionOptions>>("lion", model, options);
  }
  if (name == "muon" || name == "keller" || name == "normuon" || name == "mvr") {
    HybridPreset preset = hybrid_preset(name == "keller" ? "keller" : "muonrec");
    // the routing table carries each parameter's lr and wd; keep the optimizers' defaults in step with it
    if (overrides.lr > 0) preset.routing.muon_lr = preset.muon.lr = overrides.lr;
    if (overrides.weight_decay >= 0)
      preset.routing.muon_weight_decay = preset.muon.weight_decay = overrides.weight_decay;
    if (overrides.adamw_lr > 0) preset.routing.adamw_lr = preset.adamw.lr = overrides.adamw_lr;
    const HybridMuon flavour = name == "normuon" ? HybridMuon::normuon
                               : name == "mvr"   ? HybridMuon::mvr
                                                 : HybridMuon::muon;
    return std::make_unique<Hybrid>(name, model, preset, flavour);
  }
  std::string known;
  for (const std::string& n : training_optimizer_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(detail::concat("unknown optimizer '", name, "' (known: ", known, ")"));
}

}  // namespace recgrad::recsys

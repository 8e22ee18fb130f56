// HybridOptimizer: a Muon and an AdamW built from a routing table (see hybrid.h).
#include "optim/hybrid.h"

#include <map>
#include <sstream>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "core/ops/copy.h"
#include "optim/lr_schedule.h"
#include "optim/muon_mvr.h"
#include "optim/normuon.h"

namespace recgrad {

namespace {

const char* const kGateNames[] = {"r", "z", "n"};

// "name[r]", "name[z]", "name[n]" for the three GRU gates; "name[k]" for other splits.
std::string block_name(const std::string& name, std::int64_t block, std::int64_t blocks) {
  const std::string label = blocks == 3 ? kGateNames[block] : std::to_string(block);
  return name + "[" + label + "]";
}

// Rows [block * rows, (block + 1) * rows) of the contiguous tensor t (a view sharing its storage).
Tensor row_block(const Tensor& t, std::int64_t block, std::int64_t blocks) {
  Shape shape = t.shape();
  shape[0] /= blocks;
  return Tensor::from_storage(t.storage(), shape, t.strides(), t.offset() + block * shape[0] * t.stride(0), t.dtype());
}

// Parameters with the same (lr, weight decay) share a group; its options are `base` with that lr and weight
// decay (`set(options, lr, weight_decay)` writes them).
template <typename Options, typename Set>
std::vector<ParamGroup<Options>> groups_by_settings(
    const std::vector<std::tuple<std::string, Tensor, double, double>>& rows, const Options& base, Set set) {
  std::map<std::pair<double, double>, ParamGroup<Options>> by_settings;
  std::vector<std::pair<double, double>> order;
  for (const auto& [name, param, lr, weight_decay] : rows) {
    const std::pair<double, double> key{lr, weight_decay};
    auto [it, inserted] = by_settings.try_emplace(key);
    if (inserted) {
      order.push_back(key);
      it->second.options = base;
      set(it->second.options, lr, weight_decay);
    }
    it->second.params.push_back(param);
    it->second.names.push_back(name);
  }
  std::vector<ParamGroup<Options>> groups;
  for (const auto& key : order) groups.push_back(std::move(by_settings.at(key)));
  return groups;
}

template <typename Options>
void set_lr_and_decay(Options& options, double lr, double weight_decay) {
  options.lr = lr;
  options.weight_decay = weight_decay;
}

// Keys of `dict` that start with `prefix`, without it.
OptimizerStateDict strip_prefix(const OptimizerStateDict& dict, const std::string& prefix) {
  OptimizerStateDict out;
  for (const auto& [key, tensor] : dict.tensors) {
    if (key.rfind(prefix, 0) == 0) out.tensors[key.substr(prefix.size())] = tensor;
  }
  for (const auto& [key, value] : dict.scalars) {
    if (key.rfind(prefix, 0) == 0) out.scalars[key.substr(prefix.size())] = value;
  }
  return out;
}

void add_prefix(const OptimizerStateDict& dict, const std::string& prefix, OptimizerStateDict& out) {
  for (const auto& [key, tensor] : dict.tensors) out.tensors[prefix + key] = tensor;
  for (const auto& [key, value] : dict.scalars) out.scalars[prefix + key] = value;
}

// The state_dict key of the previous value of AdamW row `name` under Muon-MVR (see hybrid.h).
std::string mvr_previous_key(const std::string& name) { return "mvr.state." + name + ".previous_param"; }

// The names of the rows routed to AdamW, in the table's order (the order of Muon-MVR's co-parameters).
std::vector<std::string> adamw_row_names(const RoutingTable& table) {
  std::vector<std::string> names;
  for (const RoutedParameter& row : table.rows) {
    if (row.optimizer == OptimizerKind::adamw) names.push_back(row.name);
  }
  return names;
}

}  // namespace

HybridOptimizer::HybridOptimizer(RoutingTable table, MuonOptions muon, AdamWOptions adamw, HybridMuon variant)
    : table_(std::move(table)), variant_(variant) {
  std::vector<std::tuple<std::string, Tensor, double, double>> muon_rows, adamw_rows;
  std::vector<Tensor> adamw_params;  // Muon-MVR's co-parameters (adamw_row_names' order)
  for (const RoutedParameter& row : table_.rows) {
    if (row.optimizer == OptimizerKind::adamw) {
      adamw_rows.emplace_back(row.name, row.param, row.lr, row.weight_decay);
      adamw_params.push_back(row.param);
      continue;
    }
    if (row.blocks <= 1) {
      muon_rows.emplace_back(row.name, row.param, row.lr, row.weight_decay);
      continue;
    }
    RG_CHECK(row.param.is_contiguous() && row.param.size(0) % row.blocks == 0, "HybridOptimizer: parameter '", row.name,
             "' (shape ", row.param.shape(), ") cannot be split into ", row.blocks, " row blocks");
    SplitParameter split{row.param, {}};
    for (std::int64_t b = 0; b < row.blocks; ++b) {
      split.blocks.push_back(row_block(row.param, b, row.blocks));
      muon_rows.emplace_back(block_name(row.name, b, row.blocks), split.blocks.back(), row.lr, row.weight_decay);
    }
    splits_.push_back(std::move(split));
  }
  if (!muon_rows.empty()) {
    if (variant == HybridMuon::normuon) {
      muon_ = std::make_unique<NorMuon>(groups_by_settings(
          muon_rows, NorMuonOptions{.muon = muon},
          [](NorMuonOptions& o, double lr, double weight_decay) { set_lr_and_decay(o.muon, lr, weight_decay); }));
    } else if (variant == HybridMuon::mvr) {
      RG_CHECK(splits_.empty(),
               "HybridOptimizer: Muon-MVR with per-gate row blocks is not supported (its closure "
               "recomputes gradients of whole parameters); route GRU weights as one matrix");
      // The AdamW rows are rewound with the Muon rows for the gradient at the previous point (see hybrid.h).
      muon_ = std::make_unique<MuonMVR>(groups_by_settings(muon_rows, muon, set_lr_and_decay<MuonOptions>),
                                        std::move(adamw_params));
    } else {
      muon_ = std::make_unique<Muon>(groups_by_settings(muon_rows, muon, set_lr_and_decay<MuonOptions>));
    }
  }
  if (!adamw_rows.empty()) {
    adamw_ = std::make_unique<AdamW>(groups_by_settings(adamw_rows, adamw, set_lr_and_decay<AdamWOptions>));
  }
}

void HybridOptimizer::set_block_gradients() {
  for (const SplitParameter& split : splits_) {
    const Tensor grad = split.param.grad();
    const Tensor dense = grad.defined() ? raw::contiguous(grad) : Tensor();
    const std::int64_t blocks = static_cast<std::int64_t>(split.blocks.size());
    for (std::int64_t b = 0; b < blocks; ++b) {
      split.blocks[b].set_grad(dense.defined() ? row_block(dense, b, blocks) : Tensor());
    }
  }
}

void HybridOptimizer::step() {
  if (muon_) {
    set_block_gradients();
    muon_->step();
    for (const SplitParameter& split : splits_) {
      for (const Tensor& block : split.blocks) block.set_grad(Tensor());  // the views hold no gradient between steps
    }
  }
  if (adamw_) adamw_->step();
}

Tensor HybridOptimizer::step(const std::function<Tensor()>& closure) {
  if (variant_ != HybridMuon::mvr || !muon_) {
    Tensor loss = closure();
    step();
    return loss;
  }
  // Steps 1-5 of hybrid.h (the AdamW rows are Muon-MVR's co-parameters); every .grad then holds the gradient
  // at the current point (x_t, y_t) and AdamW's step 6 uses it.
  Tensor loss = static_cast<MuonMVR&>(*muon_).step(closure);
  if (adamw_) adamw_->step();
  return loss;
}

void HybridOptimizer::zero_grad() {
  if (muon_) muon_->zero_grad();
  if (adamw_) adamw_->zero_grad();
  for (const SplitParameter& split : splits_) split.param.set_grad(Tensor());
}

void HybridOptimizer::set_lr_factor(double factor) {
  if (muon_) recgrad::set_lr_factor(*muon_, factor);  // checks factor >= 0
  if (adamw_) recgrad::set_lr_factor(*adamw_, factor);
}

void HybridOptimizer::set_lr_from_base(const std::function<double(double initial_lr)>& schedule) {
  if (muon_) muon_->set_lr_from_base(schedule);
  if (adamw_) adamw_->set_lr_from_base(schedule);
}

OptimizerStateDict HybridOptimizer::state_dict() const {
  OptimizerStateDict dict;
  if (muon_) add_prefix(muon_->state_dict(), "muon.", dict);
  if (adamw_) add_prefix(adamw_->state_dict(), "adamw.", dict);
  if (const MuonMVR* mvr = this->mvr()) {
    const std::vector<std::string> names = adamw_row_names(table_);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const Tensor& previous = mvr->co_previous()[i];
      if (previous.defined()) dict.tensors[mvr_previous_key(names[i])] = raw::clone(previous);
    }
  }
  return dict;
}

void HybridOptimizer::load_state_dict(const OptimizerStateDict& dict) {
  MuonMVR* const mvr = this->mvr();
  for (const auto& [key, tensor] : dict.tensors) {
    RG_CHECK((muon_ && key.rfind("muon.", 0) == 0) || (adamw_ && key.rfind("adamw.", 0) == 0) ||
                 (mvr && key.rfind("mvr.", 0) == 0),
             "HybridOptimizer.load_state_dict: unexpected tensor '", key, "'");
  }
  // Muon-MVR's previous values of the AdamW rows: all of them, or none when Muon-MVR has not stepped.
  std::vector<Tensor> co_previous;
  if (mvr) {
    const std::vector<std::string> names = adamw_row_names(table_);
    std::size_t found = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto it = dict.tensors.find(mvr_previous_key(names[i]));
      co_previous.push_back(it == dict.tensors.end() ? Tensor() : it->second);
      if (it == dict.tensors.end()) continue;
      ++found;
      RG_CHECK(it->second.shape() == mvr->co_parameters()[i].shape(), "HybridOptimizer.load_state_dict: '", it->first,
               "' has shape ", it->second.shape(), ", the parameter ", mvr->co_parameters()[i].shape());
    }
    std::size_t mvr_keys = 0, muon_previous = 0;
    for (const auto& [key, tensor] : dict.tensors) {
      mvr_keys += key.rfind("mvr.", 0) == 0;
      const std::string suffix = ".previous_param";
      muon_previous += key.rfind("muon.", 0) == 0 && key.size() > suffix.size() &&
                       key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    }
    RG_CHECK(mvr_keys == found, "HybridOptimizer.load_state_dict: an 'mvr.' tensor names no parameter routed to AdamW");
    RG_CHECK(found == names.size() || (found == 0 && muon_previous == 0),
             "HybridOptimizer.load_state_dict: Muon-MVR has stepped but the dict holds the previous values of ", found,
             " of the ", names.size(), " parameters routed to AdamW (its correction needs every weight at x_{t-1})");
  }
  for (const auto& [key, value] : dict.scalars) {
    RG_CHECK((muon_ && key.rfind("muon.", 0) == 0) || (adamw_ && key.rfind("adamw.", 0) == 0),
             "HybridOptimizer.load_state_dict: unexpected scalar '", key, "'");
  }
  // Each optimizer checks its part before changing anything; if AdamW's part is bad, Muon's is undone.
  const OptimizerStateDict muon_before = muon_ ? muon_->state_dict() : OptimizerStateDict{};
  if (muon_) muon_->load_state_dict(strip_prefix(dict, "muon."));
  try {
    if (adamw_) adamw_->load_state_dict(strip_prefix(dict, "adamw."));
  } catch (...) {
    if (muon_) muon_->load_state_dict(muon_before);
    throw;
  }
  if (mvr) mvr->load_co_previous(co_previous);  // checked above
}

std::string HybridOptimizer::describe() const {
  std::ostringstream out;
  out << table_.to_text();
  if (muon_) out << muon_->describe();
  if (adamw_) out << adamw_->describe();
  return out.str();
}

MuonMVR* HybridOptimizer::mvr() {
  return variant_ == HybridMuon::mvr && muon_ ? static_cast<MuonMVR*>(muon_.get()) : nullptr;
}

const MuonMVR* HybridOptimizer::mvr() const {
  return variant_ == HybridMuon::mvr && muon_ ? static_cast<const MuonMVR*>(muon_.get()) : nullptr;
}

std::vector<Tensor> HybridOptimizer::last_orthogonalized(const Tensor& param) const {
  std::vector<Tensor> out;
  if (!muon_) return out;
  for (const SplitParameter& split : splits_) {
    if (split.param.impl_ptr() != param.impl_ptr()) continue;
    for (const Tensor& block : split.blocks) {
      if (const Tensor* o = muon_->last_orthogonalized(block)) out.push_back(*o);
    }
    return out;
  }
  if (const Tensor* o = muon_->last_orthogonalized(param)) out.push_back(*o);
  return out;
}

std::vector<AuditedParameter> HybridOptimizer::audited_parameters() const {
  std::vector<AuditedParameter> out;
  for (const RoutedParameter& row : table_.rows) out.push_back({row.name, row.param, to_string(row.optimizer)});
  return out;
}

OrthogonalizedProvider HybridOptimizer::orthogonalized_provider() const {
  return [this](const std::string&, const Tensor& param) { return last_orthogonalized(param); };
}

}  // namespace recgrad

// Sequential: a chain of modules applied one after another (torch.nn.Sequential).
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "nn/module.h"

namespace recgrad::nn {

/// Holds modules named "0", "1", ... (so parameters are "0.weight", "2.bias",
/// ...); forward(x) = m_{n-1}(...m_1(m_0(x))). Any module type with a
/// `Tensor forward(const Tensor&)` member can be added.
class Sequential : public Module {
 public:
  Sequential() = default;
  template <typename... Ms>
  explicit Sequential(std::shared_ptr<Ms>... modules) {
    (push_back(std::move(modules)), ...);
  }

  /// Appends `module` under the name std::to_string(size()); returns it.
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "Sequential::push_back: M must derive from nn::Module");
    register_module(std::to_string(steps_.size()), module);
    // The raw pointer stays valid: the child list above owns the module.
    steps_.push_back([raw = module.get()](const Tensor& x) { return raw->forward(x); });
    return module;
  }

  /// Applies every module in order.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

  std::size_t size() const { return steps_.size(); }
  /// Module `index`, downcast to M; throws when out of range or of another type.
  template <typename M = Module>
  std::shared_ptr<M> at(std::size_t index) const {
    return child_at<M>(index, "Sequential");
  }

 private:
  std::vector<std::function<Tensor(const Tensor&)>> steps_;
};

}  // namespace recgrad::nn

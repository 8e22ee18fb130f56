// ModuleList: an indexable list of submodules (torch.nn.ModuleList), e.g. the
// blocks of a Transformer; it registers them but defines no forward.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "nn/module.h"

namespace recgrad::nn {

/// Holds modules named "0", "1", ... so that parameters are "0.weight", ...
/// (and "blocks.0.weight" when registered as "blocks").
class ModuleList : public Module {
 public:
  ModuleList() = default;

  /// Appends `module` under the name std::to_string(size()); returns it.
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "ModuleList::push_back: M must derive from nn::Module");
    return register_module(std::to_string(size()), std::move(module));
  }

  std::size_t size() const { return named_children().size(); }
  /// Module `index`, downcast to M; throws when out of range or of another type.
  template <typename M = Module>
  std::shared_ptr<M> at(std::size_t index) const {
    return child_at<M>(index, "ModuleList");
  }
  std::shared_ptr<Module> operator[](std::size_t index) const { return at(index); }
};

}  // namespace recgrad::nn

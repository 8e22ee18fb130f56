// Module: the base class of every layer. A module owns named parameters
// (trainable tensors), named buffers (non-trainable state saved with the
// model) and named submodules. named_parameters() walks them depth-first in
// registration order and yields hierarchical dotted names such as
// "blocks.0.ffn.0.weight" — the names that optimizer routing, the audit and
// checkpoints use.
//
// A layer keeps handles to its tensors as members (e.g. Linear::weight) and
// registers the same handles here, so both views always agree: in-place
// operations (load_state_dict, to_dtype, optimizer steps) change the shared
// tensor, never replace it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/state_dict.h"

namespace recgrad::nn {

/// What a non-strict load_state_dict found missing or unexpected.
struct LoadStateDictResult {
  std::vector<std::string> missing_keys;     // in the module, absent from the state dict
  std::vector<std::string> unexpected_keys;  // in the state dict, absent from the module
};

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Copying would silently alias parameters between two modules.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ---- registration (names are non-empty, contain no '.', and are unique per module) ----

  /// Registers a trainable tensor (a floating leaf; requires_grad is switched
  /// on unless `requires_grad` is false); returns the same handle.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  /// Replaces this module's parameter `name` by a new tensor (which may have another shape), for changes of size
  /// such as growing a vocabulary; returns the new handle. Optimizers built before keep the old tensor: replace
  /// parameters before building one.
  Tensor replace_parameter(const std::string& name, Tensor value);
  /// Registers non-trainable state that is saved in the state dict; returns the same handle.
  Tensor register_buffer(const std::string& name, Tensor value);
  /// Registers a submodule; its tensors appear under "<name>.". Returns `module`.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- traversal ----

  /// Parameters of this module, then of each child (depth-first, registration
  /// order), with dotted names. A tensor registered under several names (tied
  /// weights) appears once, under its first name.
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Buffers, in the same order and naming as named_parameters().
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  /// Direct submodules with their names.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  std::vector<std::shared_ptr<Module>> children() const;
  /// Every descendant (not this module itself), depth-first in registration
  /// order, with dotted names ("blocks", "blocks.0", "blocks.0.ffn", ...). A
  /// module registered twice appears once, under its first name.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  /// Total element count of the (deduplicated) parameters.
  std::int64_t num_parameters() const;

  // ---- mode ----

  /// Sets training mode on this module and every descendant (Dropout reads it).
  void train(bool on = true);
  /// Same as train(false).
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Drops every parameter's gradient (grad() becomes undefined).
  void zero_grad();
  /// Converts every floating parameter and buffer to `dtype` in place (the
  /// handles held by layers and optimizers see the change); gradients are dropped.
  void to_dtype(DType dtype);
  /// Moves every parameter and buffer (any dtype) to `device` in place: the
  /// handles held by layers and optimizers see the move, views keep sharing
  /// their storage, and gradients move along. Everything is copied before
  /// anything changes, so a failure (e.g. no GPU) leaves the module as it was;
  /// the Error names the first tensor that could not be moved. State that an
  /// optimizer already holds does not move (its next step throws): move the model
  /// before the first step, or reload that state with the optimizer's
  /// load_state_dict, which moves it. Returns *this.
  Module& to(Device device);

  // ---- state ----

  /// Every parameter and buffer by dotted name (parameters first within each
  /// module, then buffers, then children). The tensors are the live handles, not copies.
  StateDict state_dict() const;
  /// Copies `state` into the parameters and buffers in place (no graph is
  /// recorded; a source may be on any device). With `strict`, a missing or
  /// unexpected name throws an Error listing every such name. A shape or dtype
  /// mismatch always throws, naming the tensor and both shapes. Nothing is
  /// copied when anything is wrong.
  LoadStateDictResult load_state_dict(const StateDict& state, bool strict = true);
  /// Writes state_dict() to a safetensors file (atomically; see nn/safetensors.h);
  /// tensors on a GPU are copied to the CPU for it.
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;
  /// Reads a safetensors file and load_state_dict()s it.
  LoadStateDictResult load(const std::string& path, bool strict = true);

 protected:
  /// Child `index` in registration order, downcast to M; throws naming
  /// `container` when the index is out of range or the child is of another type.
  template <typename M>
  std::shared_ptr<M> child_at(std::size_t index, const char* container) const {
    RG_CHECK(index < children_.size(), container, "::at: index ", index, " out of range for ", children_.size(),
             " modules");
    auto module = std::dynamic_pointer_cast<M>(children_[index].second);
    RG_CHECK(module != nullptr, container, "::at: module ", index, " is not of the requested type");
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, const char* what) const;
  // Appends (prefix + name, tensor) of this subtree's parameters or buffers.
  void collect(const std::string& prefix, bool buffers, bool recurse,
               std::vector<std::pair<std::string, Tensor>>& out) const;

  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace recgrad::nn

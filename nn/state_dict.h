// StateDict: named tensors in insertion order with lookup by name. It is what
// Module::state_dict() returns, what load_state_dict() consumes, and what a
// safetensors file holds.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace recgrad::nn {

/// An insertion-ordered map from unique names to tensors.
class StateDict {
 public:
  using Entry = std::pair<std::string, Tensor>;

  StateDict() = default;
  /// Builds from (name, tensor) pairs; throws on a duplicate name.
  StateDict(std::initializer_list<Entry> entries);

  /// Appends `name` -> `tensor`; throws when `name` is already present.
  void insert(const std::string& name, Tensor tensor);
  bool contains(std::string_view name) const { return index_.contains(std::string(name)); }
  /// The tensor stored under `name`; throws naming it when absent.
  const Tensor& at(std::string_view name) const;
  /// The tensor stored under `name`, or nullptr when absent.
  const Tensor* find(std::string_view name) const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<std::string> names() const;
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace recgrad::nn

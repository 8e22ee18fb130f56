#include "nn/state_dict.h"

namespace recgrad::nn {

StateDict::StateDict(std::initializer_list<Entry> entries) {
  for (const Entry& entry : entries) insert(entry.first, entry.second);
}

void StateDict::insert(const std::string& name, Tensor tensor) {
  RG_CHECK(!index_.contains(name), "StateDict::insert: duplicate name '", name, "'");
  index_.emplace(name, entries_.size());
  entries_.emplace_back(name, std::move(tensor));
}

const Tensor& StateDict::at(std::string_view name) const {
  const Tensor* tensor = find(name);
  RG_CHECK(tensor != nullptr, "StateDict::at: no tensor named '", name, "'");
  return *tensor;
}

const Tensor* StateDict::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

std::vector<std::string> StateDict::names() const {
  std::vector<std::string> result;
  result.reserve(entries_.size());
  for (const Entry& entry : entries_) result.push_back(entry.first);
  return result;
}

}  // namespace recgrad::nn

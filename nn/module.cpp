#include "nn/module.h"

#include <algorithm>
#include <sstream>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "core/cuda/runtime.h"
#include "core/ops/copy.h"
#include "nn/safetensors.h"

namespace recgrad::nn {

namespace {

// "a, b, c" for an error message.
std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

// Appends the descendants of `module` in pre-order, skipping modules already seen.
void add_descendants(const Module& module, const std::string& prefix, std::unordered_set<const Module*>& seen,
                     std::vector<std::pair<std::string, std::shared_ptr<Module>>>& out) {
  for (const auto& [name, child] : module.named_children()) {
    if (!seen.insert(child.get()).second) continue;
    out.emplace_back(prefix + name, child);
    add_descendants(*child, prefix + name + ".", seen, out);
  }
}

}  // namespace

void Module::check_new_name(const std::string& name, const char* what) const {
  RG_CHECK(!name.empty(), "Module::register_", what, ": the name must not be empty");
  RG_CHECK(name.find('.') == std::string::npos, "Module::register_", what, ": name '", name,
           "' must not contain '.' (dots separate the levels of hierarchical names)");
  auto taken = [&](const auto& entries) {
    for (const auto& entry : entries) {
      if (entry.first == name) return true;
    }
    return false;
  };
  RG_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), "Module::register_", what, ": name '", name,
           "' is already registered in this module");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name(name, "parameter");
  RG_CHECK(value.defined(), "Module::register_parameter: parameter '", name, "' is an undefined tensor");
  RG_CHECK(is_floating(value.dtype()), "Module::register_parameter: parameter '", name,
           "' must have a floating dtype, got ", value.dtype(), " with shape ", value.shape());
  RG_CHECK(value.is_leaf(), "Module::register_parameter: parameter '", name,
           "' is the result of an operation; register a leaf (use detach())");
  value.requires_grad_(requires_grad);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::replace_parameter(const std::string& name, Tensor value) {
  const auto found =
      std::find_if(parameters_.begin(), parameters_.end(), [&](const auto& entry) { return entry.first == name; });
  RG_CHECK(found != parameters_.end(), "Module::replace_parameter: this module has no parameter '", name, "'");
  RG_CHECK(value.defined() && is_floating(value.dtype()) && value.is_leaf(), "Module::replace_parameter: '", name,
           "' must be replaced by a defined floating leaf tensor");
  value.requires_grad_(found->second.requires_grad());
  found->second = value;
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name, "buffer");
  RG_CHECK(value.defined(), "Module::register_buffer: buffer '", name, "' is an undefined tensor");
  buffers_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "module");
  RG_CHECK(module != nullptr, "Module::register_module: module '", name, "' is null");
  RG_CHECK(module.get() != this, "Module::register_module: a module cannot be its own child ('", name, "')");
  for (const auto& [descendant_name, descendant] : module->named_modules()) {
    RG_CHECK(descendant.get() != this, "Module::register_module: registering '", name,
             "' would create a cycle (this module is its descendant '", descendant_name, "')");
  }
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool buffers, bool recurse,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, tensor] : buffers ? buffers_ : parameters_) out.emplace_back(prefix + name, tensor);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, true, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect("", false, recurse, all);
  std::vector<std::pair<std::string, Tensor>> unique;
  std::unordered_set<const TensorImpl*> seen;
  for (auto& entry : all) {
    if (seen.insert(entry.second.impl_ptr().get()).second) unique.push_back(std::move(entry));
  }
  return unique;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> result;
  for (auto& entry : named_parameters(recurse)) result.push_back(std::move(entry.second));
  return result;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> result;
  collect("", true, recurse, result);
  return result;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> result;
  for (const auto& entry : children_) result.push_back(entry.second);
  return result;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> result;
  std::unordered_set<const Module*> seen{this};
  add_descendants(*this, "", seen, result);
  return result;
}

std::int64_t Module::num_parameters() const {
  std::int64_t total = 0;
  for (const auto& entry : named_parameters()) total += entry.second.numel();
  return total;
}

void Module::train(bool on) {
  training_ = on;
  for (const auto& entry : children_) entry.second->train(on);
}

void Module::zero_grad() {
  for (const auto& entry : named_parameters()) entry.second.set_grad(Tensor());
}

void Module::to_dtype(DType dtype) {
  RG_CHECK(is_floating(dtype), "Module::to_dtype: target dtype must be floating (f32 or f64), got ", dtype);
  std::vector<std::pair<std::string, Tensor>> tensors;
  collect("", false, true, tensors);
  collect("", true, true, tensors);
  std::unordered_set<const TensorImpl*> done;
  for (const auto& [name, tensor] : tensors) {
    if (!is_floating(tensor.dtype()) || !done.insert(tensor.impl_ptr().get()).second) continue;
    if (tensor.dtype() == dtype) continue;
    const Tensor converted = raw::to_dtype(tensor, dtype);
    TensorImpl& impl = tensor.impl();
    impl.storage = converted.storage();
    impl.offset = converted.offset();
    impl.strides = converted.strides();
    impl.dtype = dtype;
    impl.grad.reset();
  }
}

namespace {

// A copy on `device` of all of `storage` (every byte, so the views of it keep their offsets and strides).
std::shared_ptr<Storage> copy_storage(const std::shared_ptr<Storage>& storage, Device device) {
  const Tensor bytes = Tensor::from_storage(storage, {static_cast<std::int64_t>(storage->nbytes())}, {1}, 0, DType::u8);
  return raw::to_device(bytes, device).storage();
}

}  // namespace

Module& Module::to(Device device) {
  struct Entry {
    std::string name;
    const char* kind;  // "parameter" or "buffer"
    Tensor tensor;
  };
  std::vector<Entry> entries;
  std::vector<std::pair<std::string, Tensor>> collected;
  collect("", false, true, collected);
  for (auto& [name, tensor] : collected) entries.push_back({name, "parameter", tensor});
  collected.clear();
  collect("", true, true, collected);
  for (auto& [name, tensor] : collected) entries.push_back({name, "buffer", tensor});

  // 1. Copy each storage once (however many tensors view it) and each gradient; nothing changes yet.
  std::unordered_map<const Storage*, std::shared_ptr<Storage>> moved_storage;
  std::unordered_map<const TensorImpl*, Tensor> moved_grad;
  for (const Entry& entry : entries) {
    const Tensor& tensor = entry.tensor;
    try {
      const std::shared_ptr<Storage>& storage = tensor.storage();
      if (storage->device() != device && !moved_storage.contains(storage.get())) {
        moved_storage[storage.get()] = copy_storage(storage, device);
      }
      const Tensor grad = tensor.grad();
      if (grad.defined() && grad.device() != device && !moved_grad.contains(tensor.impl_ptr().get())) {
        moved_grad[tensor.impl_ptr().get()] = raw::to_device(grad, device);
      }
    } catch (const Error& error) {
      throw Error(detail::concat("Module::to(", device, "): cannot move ", entry.kind, " '", entry.name, "' (shape ",
                                 tensor.shape(), " ", tensor.dtype(), ") from ", tensor.device(), ": ", error.what()));
    }
  }
  if (moved_storage.empty() && moved_grad.empty() && device.is_cuda()) {
    cuda::require_cuda_device(device, "Module::to");  // nothing to move: still refuse a GPU that is not there
  }

  // 2. Point every tensor at its copy (the old storages stay alive in `old` until the end).
  std::vector<std::shared_ptr<Storage>> old;
  for (const Entry& entry : entries) {
    TensorImpl& impl = entry.tensor.impl();
    if (const auto it = moved_storage.find(impl.storage.get()); it != moved_storage.end()) {
      old.push_back(impl.storage);
      impl.storage = it->second;
    }
    if (const auto it = moved_grad.find(&impl); it != moved_grad.end()) impl.grad = it->second.impl_ptr();
  }
  return *this;
}

StateDict Module::state_dict() const {
  StateDict state;
  // Own parameters, own buffers, then each child's, as PyTorch orders them.
  for (const auto& [name, tensor] : parameters_) state.insert(name, tensor.detach());
  for (const auto& [name, tensor] : buffers_) state.insert(name, tensor.detach());
  for (const auto& [child_name, child] : children_) {
    for (const auto& [name, tensor] : child->state_dict()) state.insert(child_name + "." + name, tensor);
  }
  return state;
}

LoadStateDictResult Module::load_state_dict(const StateDict& state, bool strict) {
  const StateDict own = state_dict();
  LoadStateDictResult result;
  std::vector<std::string> mismatches;
  for (const auto& [name, target] : own) {
    const Tensor* source = state.find(name);
    if (source == nullptr) {
      result.missing_keys.push_back(name);
      continue;
    }
    if (!source->defined() || source->shape() != target.shape() || source->dtype() != target.dtype()) {
      std::ostringstream message;
      message << "'" << name << "': expected shape " << target.shape() << " " << target.dtype() << ", got ";
      if (source->defined()) {
        message << "shape " << source->shape() << " " << source->dtype();
      } else {
        message << "an undefined tensor";
      }
      mismatches.push_back(message.str());
    }
  }
  for (const auto& entry : state) {
    if (!own.contains(entry.first)) result.unexpected_keys.push_back(entry.first);
  }
  std::string problems;
  if (strict && !result.missing_keys.empty()) problems += " missing keys: " + join(result.missing_keys) + ";";
  if (strict && !result.unexpected_keys.empty()) problems += " unexpected keys: " + join(result.unexpected_keys) + ";";
  if (!mismatches.empty()) problems += " shape or dtype mismatch for " + join(mismatches) + ";";
  RG_CHECK(problems.empty(), "Module::load_state_dict:", problems);

  NoGradGuard no_grad;
  for (const auto& [name, target] : own) {
    if (const Tensor* source = state.find(name)) raw::copy_(target, raw::to_device(*source, target.device()));
  }
  return result;
}

void Module::save(const std::string& path, const std::map<std::string, std::string>& metadata) const {
  StateDict on_cpu;
  for (const auto& [name, tensor] : state_dict()) on_cpu.insert(name, raw::to_device(tensor, Device::cpu()));
  save_safetensors(path, on_cpu, metadata);
}

LoadStateDictResult Module::load(const std::string& path, bool strict) {
  return load_state_dict(load_safetensors(path), strict);
}

}  // namespace recgrad::nn

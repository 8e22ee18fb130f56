// Tensor: a cheap, shared handle to a strided view of a Storage.
//
// A tensor is (storage, offset, shape, strides, dtype, device). Views such as
// transpose or slice create a new handle over the same storage with other
// strides; nothing is copied. For autograd the handle also carries
// `requires_grad`, the accumulated `grad`, and `grad_fn`, the graph node that
// produced it (null for leaves). The differentiable operations on tensors are
// free functions in autograd/ops.h; this class only holds data and metadata.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace recgrad {

class Node;  // autograd/node.h

/// The state behind a Tensor handle. Several handles may share one impl
/// (copies of a Tensor), and several impls may share one Storage (views).
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape shape;
  Strides strides;  // in elements
  DType dtype = DType::f32;

  // Autograd state (see autograd/engine.h).
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // node that produced this tensor; null for leaves
};

class Tensor {
 public:
  /// An undefined tensor (no storage); `defined()` is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// A new contiguous tensor with uninitialised contents.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  /// A view of `storage` with the given geometry (no copy).
  static Tensor from_storage(std::shared_ptr<Storage> storage, const Shape& shape, const Strides& strides,
                             std::int64_t offset, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  std::int64_t offset() const { return impl().offset; }
  std::int64_t dim() const { return static_cast<std::int64_t>(impl().shape.size()); }
  /// Extent of dimension `d` (negative counts from the end).
  std::int64_t size(std::int64_t d) const;
  std::int64_t stride(std::int64_t d) const;
  std::int64_t numel() const { return numel_of(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  /// True for a tensor in the memory of a CUDA device: the one test every raw op dispatches on.
  bool is_cuda() const { return device().is_cuda(); }
  /// True when the elements are laid out densely in row-major order.
  bool is_contiguous() const;

  /// Host pointer to the first element of the view; T must match dtype().
  /// Throws for a tensor on a GPU: CPU kernels read through this, so an op
  /// without a CUDA kernel fails with an Error instead of touching device memory.
  template <typename T>
  T* data() const {
    RG_CHECK(dtype_of<T>() == dtype(), "Tensor::data: requested ", dtype_of<T>(), " but the tensor holds ", dtype());
    return static_cast<T*>(raw_data());
  }
  /// Untyped host pointer to the first element of the view (CPU tensors only, like data()).
  void* raw_data() const;
  /// Address of the first element in the memory of the tensor's own device
  /// (host or GPU); for device kernels and copies.
  void* device_pointer() const;

  /// The single element of a one-element tensor, converted to T.
  template <typename T>
  T item() const;
  /// All elements in row-major order, converted to T.
  template <typename T>
  std::vector<T> to_vector() const;

  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  bool shares_storage(const Tensor& other) const { return storage() == other.storage(); }
  /// Version of the underlying storage; in-place ops bump it.
  std::uint64_t version() const { return impl().storage->version(); }
  void bump_version() const { impl().storage->bump_version(); }

  /// A view with explicit geometry over the same storage (no autograd).
  Tensor as_strided(const Shape& shape, const Strides& strides, std::int64_t offset) const;

  // ---- autograd state ----
  bool requires_grad() const { return impl().requires_grad; }
  /// Marks a leaf as a trainable input; returns *this. Only floating dtypes.
  Tensor& requires_grad_(bool enabled = true);
  /// The accumulated gradient (undefined until a backward reaches this leaf).
  Tensor grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
  void set_grad(const Tensor& grad) const;
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  /// A handle to the same data that is cut from the graph (no grad_fn, no requires_grad).
  Tensor detach() const;
  /// Runs backpropagation from this tensor (autograd/engine.cpp). A scalar may
  /// omit `gradient` (it is then 1); otherwise `gradient` has this tensor's shape.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;

  TensorImpl& impl() const {
    RG_CHECK(impl_ != nullptr, "use of an undefined Tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// Prints shape, dtype and (for up to 64 elements) the values.
std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

/// Calls fn(offset_a) for every element of a view of `shape` with `strides`,
/// in row-major order (offsets in elements, relative to the view's start).
template <typename Fn>
void for_each_offset(const Shape& shape, const Strides& strides, Fn&& fn) {
  const std::int64_t total = numel_of(shape);
  if (total == 0) return;
  const std::size_t rank = shape.size();
  if (rank == 0) {
    fn(std::int64_t{0});
    return;
  }
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;
  for (std::int64_t n = 0; n < total; ++n) {
    fn(offset);
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d]) {
        offset += strides[d];
        break;
      }
      offset -= strides[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  RG_CHECK(device().is_cpu(), "Tensor::to_vector: tensor is on ", device(), "; copy it to the CPU first");
  std::vector<T> values;
  values.reserve(static_cast<std::size_t>(numel()));
  visit_dtype(dtype(), [&]<typename S>(S) {
    const S* base = static_cast<const S*>(raw_data());
    for_each_offset(shape(), strides(), [&](std::int64_t off) { values.push_back(static_cast<T>(base[off])); });
  });
  return values;
}

template <typename T>
T Tensor::item() const {
  RG_CHECK(numel() == 1, "Tensor::item: expected a one-element tensor, got shape ", shape());
  return to_vector<T>()[0];
}

}  // namespace recgrad

#include "core/tensor.h"

#include <algorithm>
#include <iomanip>

namespace recgrad {

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  std::size_t nbytes = element_size(dtype);
  for (std::int64_t extent : shape) {
    RG_CHECK(extent >= 0, "Tensor::empty: negative extent in shape ", shape);
    RG_CHECK(!__builtin_mul_overflow(nbytes, static_cast<std::size_t>(extent), &nbytes), "Tensor::empty: shape ", shape,
             " of ", dtype, " overflows the addressable size");
  }
  auto storage = Storage::allocate(nbytes, device);
  return from_storage(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, const Shape& shape, const Strides& strides,
                            std::int64_t offset, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

std::int64_t Tensor::size(std::int64_t d) const { return shape()[normalize_dim(d, dim(), "Tensor::size")]; }

std::int64_t Tensor::stride(std::int64_t d) const { return strides()[normalize_dim(d, dim(), "Tensor::stride")]; }

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (std::size_t d = shape().size(); d-- > 0;) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::device_pointer() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * static_cast<std::int64_t>(element_size(dtype()));
}

void* Tensor::raw_data() const {
  RG_CHECK(device().is_cpu(), "this operation reads a tensor of shape ", shape(), " ", dtype(),
           " on the host, but it is on ", device(),
           ": the op has no CUDA kernel yet; move the tensor to the CPU first");
  return device_pointer();
}

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, std::int64_t offset) const {
  RG_CHECK(shape.size() == strides.size(), "as_strided: shape ", shape, " and strides ", strides,
           " have different ranks");
  return from_storage(storage(), shape, strides, offset, dtype());
}

Tensor& Tensor::requires_grad_(bool enabled) {
  RG_CHECK(!enabled || is_floating(dtype()), "requires_grad_: only floating tensors can require gradients, got ",
           dtype());
  RG_CHECK(is_leaf() || enabled, "requires_grad_: cannot turn off requires_grad of a non-leaf tensor; use detach()");
  impl().requires_grad = enabled;
  return *this;
}

void Tensor::set_grad(const Tensor& grad) const {
  if (!grad.defined()) {
    impl().grad.reset();
    return;
  }
  RG_CHECK(grad.shape() == shape() && grad.dtype() == dtype(), "set_grad: gradient of shape ", grad.shape(), " ",
           grad.dtype(), " does not match tensor of shape ", shape(), " ", dtype());
  impl().grad = grad.impl_ptr();
}

Tensor Tensor::detach() const { return from_storage(storage(), shape(), strides(), offset(), dtype()); }

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
  if (!tensor.defined()) return out << "Tensor(undefined)";
  out << "Tensor(shape=" << tensor.shape() << ", dtype=" << tensor.dtype() << ", device=" << tensor.device();
  if (tensor.device().is_cpu() && tensor.numel() <= 64) {
    out << ", values=[";
    const auto values = tensor.to_vector<double>();
    for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << std::setprecision(6) << values[i];
    out << ']';
  }
  return out << ')';
}

}  // namespace recgrad

#include "core/ops/view.h"

#include <algorithm>

#include "core/ops/copy.h"

namespace recgrad::raw {

Shape infer_shape(const Shape& shape, std::int64_t numel, std::string_view op) {
  Shape out = shape;
  std::int64_t known = 1;
  int infer_at = -1;
  for (std::size_t d = 0; d < out.size(); ++d) {
    if (out[d] == -1) {
      RG_CHECK(infer_at < 0, op, ": only one dimension can be -1 in ", shape);
      infer_at = static_cast<int>(d);
    } else {
      RG_CHECK(out[d] >= 0, op, ": invalid extent ", out[d], " in ", shape);
      known *= out[d];
    }
  }
  if (infer_at >= 0) {
    RG_CHECK(known != 0 && numel % known == 0, op, ": cannot infer -1 in ", shape, " for ", numel, " elements");
    out[static_cast<std::size_t>(infer_at)] = numel / known;
  }
  RG_CHECK(numel_of(out) == numel, op, ": shape ", shape, " is invalid for a tensor of ", numel, " elements");
  return out;
}

// Walks the old dimensions from the innermost outwards, grouping them into
// chunks that are contiguous with each other; a view exists when every new
// dimension falls inside one chunk (the algorithm PyTorch uses).
std::optional<Strides> view_strides(const Tensor& tensor, const Shape& shape) {
  if (tensor.is_contiguous() || tensor.numel() == 0) return contiguous_strides(shape);
  const Shape& old_shape = tensor.shape();
  const Strides& old_strides = tensor.strides();
  Strides strides(shape.size(), 1);
  std::int64_t view_d = static_cast<std::int64_t>(shape.size()) - 1;
  std::int64_t chunk_base_stride = old_strides.back();
  std::int64_t tensor_numel = 1;
  std::int64_t view_numel = 1;
  for (std::int64_t tensor_d = static_cast<std::int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    const bool chunk_ends = tensor_d == 0 || (old_shape[tensor_d - 1] != 1 &&
                                              old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (tensor_d > 0) {
      chunk_base_stride = old_strides[tensor_d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

Tensor view(const Tensor& tensor, const Shape& shape) {
  const Shape resolved = infer_shape(shape, tensor.numel(), "view");
  const auto strides = view_strides(tensor, resolved);
  RG_CHECK(strides.has_value(), "view: a tensor of shape ", tensor.shape(), " with strides ", tensor.strides(),
           " cannot be viewed as ", resolved, " without a copy; use reshape");
  return tensor.as_strided(resolved, *strides, tensor.offset());
}

Tensor reshape(const Tensor& tensor, const Shape& shape) {
  const Shape resolved = infer_shape(shape, tensor.numel(), "reshape");
  if (const auto strides = view_strides(tensor, resolved)) {
    return tensor.as_strided(resolved, *strides, tensor.offset());
  }
  return view(clone(tensor), resolved);
}

Tensor permute(const Tensor& tensor, const std::vector<std::int64_t>& order) {
  RG_CHECK(static_cast<std::int64_t>(order.size()) == tensor.dim(), "permute: order has ", order.size(),
           " entries for a tensor of rank ", tensor.dim());
  Shape shape(order.size());
  Strides strides(order.size());
  std::vector<bool> used(order.size(), false);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int d = normalize_dim(order[i], tensor.dim(), "permute");
    RG_CHECK(!used[d], "permute: dimension ", d, " appears twice in the order");
    used[d] = true;
    shape[i] = tensor.shape()[d];
    strides[i] = tensor.strides()[d];
  }
  return tensor.as_strided(shape, strides, tensor.offset());
}

Tensor unsqueeze(const Tensor& tensor, std::int64_t dim) {
  const int d = normalize_dim(dim, tensor.dim() + 1, "unsqueeze");
  Shape shape = tensor.shape();
  Strides strides = tensor.strides();
  const std::int64_t stride = d < tensor.dim() ? shape[d] * strides[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return tensor.as_strided(shape, strides, tensor.offset());
}

Tensor squeeze(const Tensor& tensor, std::int64_t dim) {
  if (tensor.dim() == 0) return tensor;
  const int d = normalize_dim(dim, tensor.dim(), "squeeze");
  RG_CHECK(tensor.shape()[d] == 1, "squeeze: dimension ", d, " of shape ", tensor.shape(), " is not 1");
  Shape shape = tensor.shape();
  Strides strides = tensor.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return tensor.as_strided(shape, strides, tensor.offset());
}

Tensor squeeze(const Tensor& tensor) {
  Shape shape;
  Strides strides;
  for (std::int64_t d = 0; d < tensor.dim(); ++d) {
    if (tensor.shape()[d] == 1) continue;
    shape.push_back(tensor.shape()[d]);
    strides.push_back(tensor.strides()[d]);
  }
  return tensor.as_strided(shape, strides, tensor.offset());
}

Tensor narrow(const Tensor& tensor, std::int64_t dim, std::int64_t start, std::int64_t length) {
  const int d = normalize_dim(dim, tensor.dim(), "narrow");
  const std::int64_t extent = tensor.shape()[d];
  if (start < 0) start += extent;
  RG_CHECK(start >= 0 && length >= 0 && start + length <= extent, "narrow: range [", start, ", ", start + length,
           ") is out of bounds for dimension ", d, " of shape ", tensor.shape());
  Shape shape = tensor.shape();
  shape[d] = length;
  return tensor.as_strided(shape, tensor.strides(), tensor.offset() + start * tensor.strides()[d]);
}

Tensor slice(const Tensor& tensor, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  const int d = normalize_dim(dim, tensor.dim(), "slice");
  RG_CHECK(step > 0, "slice: step must be positive, got ", step);
  const std::int64_t extent = tensor.shape()[d];
  auto clamp_index = [extent](std::int64_t i) { return std::clamp(i < 0 ? i + extent : i, std::int64_t{0}, extent); };
  start = clamp_index(start);
  end = std::max(clamp_index(end), start);
  Shape shape = tensor.shape();
  Strides strides = tensor.strides();
  shape[d] = (end - start + step - 1) / step;
  const std::int64_t offset = tensor.offset() + start * strides[d];
  strides[d] *= step;
  return tensor.as_strided(shape, strides, offset);
}

Tensor select(const Tensor& tensor, std::int64_t dim, std::int64_t index) {
  const int d = normalize_dim(dim, tensor.dim(), "select");
  const std::int64_t extent = tensor.shape()[d];
  RG_CHECK(index >= -extent && index < extent, "select: index ", index, " is out of range for dimension ", d,
           " of shape ", tensor.shape());
  if (index < 0) index += extent;
  Shape shape = tensor.shape();
  Strides strides = tensor.strides();
  const std::int64_t offset = tensor.offset() + index * strides[d];
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return tensor.as_strided(shape, strides, offset);
}

}  // namespace recgrad::raw

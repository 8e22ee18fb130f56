#include "core/plans/view.h"

#include <utility>

namespace recgrad::raw {

Tensor transpose(const Tensor& tensor, std::int64_t dim0, std::int64_t dim1) {
  const int a = normalize_dim(dim0, tensor.dim(), "transpose");
  const int b = normalize_dim(dim1, tensor.dim(), "transpose");
  if (tensor.dim() == 0) return tensor.as_strided({}, {}, tensor.offset());
  Shape shape = tensor.shape();
  Strides strides = tensor.strides();
  std::swap(shape[a], shape[b]);
  std::swap(strides[a], strides[b]);
  return tensor.as_strided(shape, strides, tensor.offset());
}

Tensor expand(const Tensor& tensor, const Shape& shape) {
  RG_CHECK(static_cast<std::int64_t>(shape.size()) >= tensor.dim(), "expand: cannot expand shape ", tensor.shape(),
           " to fewer dimensions ", shape);
  const std::size_t lead = shape.size() - tensor.shape().size();
  Shape out_shape(shape.size());
  Strides out_strides(shape.size());
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d < lead) {
      RG_CHECK(shape[d] >= 0, "expand: new leading dimension ", d, " must be given, got ", shape[d]);
      out_shape[d] = shape[d];
      out_strides[d] = 0;
      continue;
    }
    const std::int64_t extent = tensor.shape()[d - lead];
    const std::int64_t target = shape[d] == -1 ? extent : shape[d];
    RG_CHECK(extent == target || extent == 1, "expand: cannot expand shape ", tensor.shape(), " to ", shape,
             " (dimension ", d, ": ", extent, " vs ", target, ")");
    out_shape[d] = target;
    out_strides[d] = extent == target ? tensor.strides()[d - lead] : 0;
  }
  return tensor.as_strided(out_shape, out_strides, tensor.offset());
}

}  // namespace recgrad::raw

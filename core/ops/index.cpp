#include "core/ops/index.h"

#include <algorithm>
#include <string_view>

#include "core/cpu/index.h"
#include "core/cuda/index.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "core/plans/index.h"

namespace recgrad::raw {

namespace {

// The multi-index of flat row-major element `flat` of `shape`, e.g. "[1, 0, 2]".
std::string position_str(std::int64_t flat, const Shape& shape) {
  Shape position(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    position[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_str(position);
}

// Throws naming `op` unless every index value lies in [0, bound). `index` is dense.
// On a GPU the values are checked by a kernel, and only the first bad position
// and its value come back (one small read, which waits for the GPU): the same
// message, and no copy of the whole index to the host.
template <typename I>
void check_index_range(const Tensor& index, std::int64_t bound, std::int64_t dim, std::string_view op) {
  if (index.is_cuda()) {
    const cuda::InvalidIndex bad = cuda::first_invalid_index(index, bound, std::string(op).c_str());
    RG_CHECK(bad.position < 0, op, ": index ", bad.value, " at position ", position_str(bad.position, index.shape()),
             " is out of range for dimension ", dim, " of size ", bound);
    return;
  }
  const I* values = index.data<I>();
  const std::int64_t n = index.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t v = values[i];
    RG_CHECK(v >= 0 && v < bound, op, ": index ", v, " at position ", position_str(i, index.shape()),
             " is out of range for dimension ", dim, " of size ", bound);
  }
}

// Throws naming `op` unless `t` is on a device this build has kernels for:
// the CPU, or a GPU when the CUDA backend is built in.
void check_device(const Tensor& t, std::string_view op) {
  if (t.is_cuda()) return;
  RG_CHECK(t.device().is_cpu(), op, ": device ", t.device(), " not supported in this build");
}

// Throws naming `op` unless `t` (the op's `what`) is on `device`, the device of the op's first input.
void check_same_device(const Tensor& t, Device device, std::string_view what, std::string_view op) {
  RG_CHECK(t.device() == device, op, ": the ", what, " is on ", t.device(), " but the input is on ", device);
}

// An index tensor as a dense tensor of i64 or i32 on `device` (throws naming `op` otherwise).
Tensor dense_index(const Tensor& index, Device device, std::string_view op) {
  visit_index(index.dtype(), op, [](auto) {});
  check_device(index, op);
  check_same_device(index, device, "index", op);
  return raw::contiguous(index);
}

// Checks the shapes of gather/scatter: index has `ref`'s rank and extents no
// larger than `ref`'s, except along `dim` when `except_dim`.
void check_index_shape(const Tensor& index, const Tensor& ref, int dim, bool except_dim, std::string_view op,
                       std::string_view ref_name) {
  RG_CHECK(index.dim() == ref.dim(), op, ": index of shape ", index.shape(), " must have the rank of ", ref_name, " ",
           ref.shape());
  for (int d = 0; d < ref.dim(); ++d) {
    if (except_dim && d == dim) continue;
    RG_CHECK(index.shape()[d] <= ref.shape()[d], op, ": index of shape ", index.shape(), " is larger than ", ref_name,
             " ", ref.shape(), " in dimension ", d);
  }
}

// The index_select kernel; `op` names the caller in errors. `indices_checked`:
// the caller has already checked the index values against x's extent.
Tensor index_select_impl(const Tensor& x, std::int64_t dim, const Tensor& index, std::string_view op,
                         bool indices_checked = false) {
  check_device(x, op);
  RG_CHECK(index.dim() <= 1, op, ": index must be 0-D or 1-D, got shape ", index.shape());
  const int d = normalize_dim(dim, std::max<std::int64_t>(x.dim(), 1), op);
  const Tensor idx = dense_index(index, x.device(), op);
  if (x.is_cuda()) {  // strided x is read in place, without a dense copy
    const std::int64_t extent = x.dim() == 0 ? 1 : x.shape()[d];
    if (!indices_checked) {
      visit_index(idx.dtype(), op, [&]<typename I>(I) { check_index_range<I>(idx, extent, d, op); });
    }
    const Tensor x_1d = x.dim() == 0 ? x.as_strided({1}, {1}, x.offset()) : x;
    const Tensor out = cuda::index_select(x_1d, d, idx, std::string(op).c_str());
    return x.dim() == 0 ? raw::view(out, {}) : out;
  }
  const Tensor src = raw::contiguous(x);
  if (!indices_checked) {
    const std::int64_t extent = x.dim() == 0 ? 1 : x.shape()[d];
    visit_index(idx.dtype(), op, [&]<typename I>(I) { check_index_range<I>(idx, extent, d, op); });
  }
  const Tensor out = cpu::index_select(x.dim() == 0 ? src.as_strided({1}, {1}, src.offset()) : src, d, idx);
  if (x.dim() == 0) return raw::view(out, {});
  return out;
}

void index_add_impl(const Tensor& dst, std::int64_t dim, const Tensor& index, const Tensor& src, std::int64_t skip,
                    std::string_view op) {
  check_device(dst, op);
  check_same_device(src, dst.device(), "source", op);
  RG_CHECK(dst.dtype() == src.dtype(), op, ": destination ", dst.dtype(), " ", dst.shape(), " and source ", src.dtype(),
           " ", src.shape(), " have different dtypes");
  RG_CHECK(dst.is_contiguous(), op, ": the destination must be dense, got strides ", dst.strides());
  RG_CHECK(index.dim() <= 1, op, ": index must be 0-D or 1-D, got shape ", index.shape());
  const int d = normalize_dim(dim, std::max<std::int64_t>(dst.dim(), 1), op);
  const Tensor idx = dense_index(index, dst.device(), op);
  const Shape dst_shape = dst.dim() == 0 ? Shape{1} : dst.shape();
  Shape expected = dst_shape;
  expected[d] = idx.numel();
  RG_CHECK(numel_of(src.shape()) == numel_of(expected) && (src.shape() == expected || src.dim() == 0), op,
           ": source of shape ", src.shape(), " does not match ", expected, " (destination ", dst.shape(),
           " with dimension ", d, " indexed by ", idx.numel(), " indices)");
  const DimSplit s = split_at(dst_shape, d);
  const Tensor source = raw::contiguous(src);
  if (dst.is_cuda()) {
    visit_index(idx.dtype(), op, [&]<typename I>(I) { check_index_range<I>(idx, s.extent, d, op); });
    visit_numeric(dst.dtype(), op, [](auto) {});
    cuda::index_add_(dst, d, idx, source, skip, std::string(op).c_str());
    dst.bump_version();
    return;
  }
  visit_index(idx.dtype(), op, [&]<typename I>(I) { check_index_range<I>(idx, s.extent, d, op); });
  cpu::index_add_(dst, d, idx, source, skip, std::string(op).c_str());
  dst.bump_version();
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  RG_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  RG_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated");
  const int d = normalize_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  check_device(first, "cat");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    RG_CHECK(t.device() == first.device(), "cat: tensor ", i, " is on ", t.device(), " but tensor 0 is on ",
             first.device());
    RG_CHECK(t.dtype() == first.dtype(), "cat: tensor ", i, " has dtype ", t.dtype(), " but tensor 0 has ",
             first.dtype());
    bool same = t.dim() == first.dim();
    for (int k = 0; same && k < first.dim(); ++k) same = k == d || t.shape()[k] == first.shape()[k];
    RG_CHECK(same, "cat: tensor ", i, " of shape ", t.shape(), " does not match tensor 0 of shape ", first.shape(),
             " outside dimension ", d);
    out_shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
  if (out.is_cuda()) {
    cuda::cat_into(out, tensors, d);
    return out;
  }
  cpu::cat_into(out, tensors, d);  // the dense inputs; strided ones are copied below
  std::int64_t start = 0;
  for (const Tensor& t : tensors) {
    const std::int64_t extent = t.shape()[d];
    if (extent > 0 && !t.is_contiguous()) raw::copy_(raw::narrow(out, d, start, extent), t);
    start += extent;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  RG_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  const int d = normalize_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  expanded.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    RG_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensor ", i, " has shape ", tensors[i].shape(),
             " but tensor 0 has shape ", tensors[0].shape());
    expanded.push_back(raw::unsqueeze(tensors[i], d));
  }
  return raw::cat(expanded, d);
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  return index_select_impl(x, dim, index, "index_select");
}

void index_add_(const Tensor& dst, std::int64_t dim, const Tensor& index, const Tensor& src) {
  index_add_impl(dst, dim, index, src, -1, "index_add_");
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  check_device(x, "gather");
  const int d = normalize_dim(dim, std::max<std::int64_t>(x.dim(), 1), "gather");
  const Tensor idx = dense_index(index, x.device(), "gather");
  check_index_shape(idx, x, d, true, "gather", "input");
  Tensor out = Tensor::empty(idx.shape(), x.dtype(), x.device());
  if (x.dim() == 0) {
    visit_index(idx.dtype(), "gather", [&]<typename I>(I) { check_index_range<I>(idx, 1, d, "gather"); });
    raw::copy_(out, x);
    return out;
  }
  if (x.is_cuda()) {
    visit_index(idx.dtype(), "gather", [&]<typename I>(I) { check_index_range<I>(idx, x.shape()[d], d, "gather"); });
    return cuda::gather(x, d, idx);
  }
  visit_index(idx.dtype(), "gather", [&]<typename I>(I) { check_index_range<I>(idx, x.shape()[d], d, "gather"); });
  cpu::gather(out, x, d, idx);
  return out;
}

void scatter_add_(const Tensor& dst, std::int64_t dim, const Tensor& index, const Tensor& src) {
  check_device(dst, "scatter_add");
  check_same_device(src, dst.device(), "source", "scatter_add");
  RG_CHECK(dst.dtype() == src.dtype(), "scatter_add: destination ", dst.dtype(), " ", dst.shape(), " and source ",
           src.dtype(), " ", src.shape(), " have different dtypes");
  const int d = normalize_dim(dim, std::max<std::int64_t>(dst.dim(), 1), "scatter_add");
  const Tensor idx = dense_index(index, dst.device(), "scatter_add");
  check_index_shape(idx, dst, d, true, "scatter_add", "input");
  check_index_shape(idx, src, d, false, "scatter_add", "source");
  if (idx.numel() == 0) return;
  if (dst.is_cuda()) {
    const std::int64_t bound = dst.dim() == 0 ? 1 : dst.shape()[d];
    visit_index(idx.dtype(), "scatter_add", [&]<typename I>(I) { check_index_range<I>(idx, bound, d, "scatter_add"); });
    visit_numeric(dst.dtype(), "scatter_add", [](auto) {});
    cuda::scatter_add_(dst, d, idx, src);
    dst.bump_version();
    return;
  }
  const std::int64_t bound = dst.dim() == 0 ? 1 : dst.shape()[d];
  visit_index(idx.dtype(), "scatter_add", [&]<typename I>(I) { check_index_range<I>(idx, bound, d, "scatter_add"); });
  cpu::scatter_add_(dst, d, idx, src);
  dst.bump_version();
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = raw::clone(x);
  scatter_add_(out, dim, index, src);
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  RG_CHECK(weight.dim() == 2, "embedding: weight must be 2-D [num_embeddings, dim], got shape ", weight.shape());
  check_device(weight, "embedding");
  const Tensor idx = dense_index(indices, weight.device(), "embedding");
  // Checked here too so that an error names the position in the caller's index shape.
  visit_index(idx.dtype(), "embedding",
              [&]<typename I>(I) { check_index_range<I>(idx, weight.size(0), 0, "embedding"); });
  Shape out_shape = indices.shape();
  out_shape.push_back(weight.size(1));
  const Tensor rows = index_select_impl(weight, 0, raw::reshape(idx, {idx.numel()}), "embedding", true);
  return raw::view(rows, out_shape);
}

Tensor embedding_backward(const Tensor& grad_out, const Tensor& indices, std::int64_t num_weights,
                          std::int64_t padding_idx) {
  const std::int64_t dim = grad_out.dim() == 0 ? 1 : grad_out.size(-1);
  Tensor grad = zeros({num_weights, dim}, {grad_out.dtype(), grad_out.device()});
  const Tensor flat_index = raw::reshape(indices, {indices.numel()});
  index_add_impl(grad, 0, flat_index, raw::reshape(grad_out, {indices.numel(), dim}),
                 padding_idx < 0 ? -1 : padding_idx, "embedding_backward");
  return grad;
}

}  // namespace recgrad::raw

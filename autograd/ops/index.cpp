#include "autograd/ops/index.h"

#include <algorithm>

#include "autograd/function.h"
#include "autograd/ops/view.h"
#include "core/factory.h"
#include "core/ops/copy.h"
#include "core/ops/index.h"
#include "core/ops/view.h"

namespace recgrad {

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  Tensor out = raw::cat(tensors, dim);
  const int d = normalize_dim(dim, tensors[0].dim(), "cat");
  std::vector<std::int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.shape()[d]);
  return record("cat", std::move(out), tensors, [d, sizes](const Tensor& g) -> std::vector<Tensor> {
    std::vector<Tensor> grads;
    std::int64_t start = 0;
    for (std::int64_t size : sizes) {
      grads.push_back(raw::narrow(g, d, start, size));
      start += size;
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  Tensor out = raw::stack(tensors, dim);
  const int d = normalize_dim(dim, tensors[0].dim() + 1, "stack");
  return record("stack", std::move(out), tensors, [d, count = tensors.size()](const Tensor& g) -> std::vector<Tensor> {
    std::vector<Tensor> grads;
    for (std::size_t i = 0; i < count; ++i) grads.push_back(raw::select(g, d, static_cast<std::int64_t>(i)));
    return grads;
  });
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim) {
  RG_CHECK(x.dim() > 0, "split: cannot split a zero-dimensional tensor");
  const int d = normalize_dim(dim, x.dim(), "split");
  const std::int64_t size = x.shape()[d];
  RG_CHECK(split_size > 0 || (split_size == 0 && size == 0), "split: split_size must be positive, got ", split_size,
           " for shape ", x.shape());
  std::vector<Tensor> pieces;
  if (size == 0) return {narrow(x, d, 0, 0)};
  for (std::int64_t start = 0; start < size; start += split_size) {
    pieces.push_back(narrow(x, d, start, std::min(split_size, size - start)));
  }
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, std::int64_t chunks, std::int64_t dim) {
  RG_CHECK(chunks > 0, "chunk: the number of chunks must be positive, got ", chunks);
  RG_CHECK(x.dim() > 0, "chunk: cannot chunk a zero-dimensional tensor");
  const std::int64_t size = x.shape()[normalize_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<std::int64_t>(1, (size + chunks - 1) / chunks), dim);
}

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  return record("index_select", raw::index_select(x, dim, index), {x},
                [dim, saved_index = SavedTensor(index), shape = x.shape()](const Tensor& g) -> std::vector<Tensor> {
                  Tensor grad = zeros(shape, {g.dtype(), g.device()});
                  raw::index_add_(grad, dim, saved_index.unpack("index_select"), g);
                  return {grad};
                });
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index) {
  return record("gather", raw::gather(x, dim, index), {x},
                [dim, saved_index = SavedTensor(index), shape = x.shape()](const Tensor& g) -> std::vector<Tensor> {
                  Tensor grad = zeros(shape, {g.dtype(), g.device()});
                  raw::scatter_add_(grad, dim, saved_index.unpack("gather"), g);
                  return {grad};
                });
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src) {
  return record("scatter_add", raw::scatter_add(x, dim, index, src), {x, src},
                [dim, saved_index = SavedTensor(index), need_src = src.requires_grad(),
                 src_shape = src.shape()](const Tensor& g) -> std::vector<Tensor> {
                  if (!need_src) return {g, Tensor()};
                  const Tensor index = saved_index.unpack("scatter_add");
                  const Tensor picked = raw::gather(g, dim, index);
                  if (picked.shape() == src_shape) return {g, picked};
                  // Source elements beyond the index's extent were not used: zero gradient.
                  Tensor grad_src = zeros(src_shape, {g.dtype(), g.device()});
                  Tensor window = grad_src;
                  for (std::int64_t d = 0; d < index.dim(); ++d) window = raw::narrow(window, d, 0, index.size(d));
                  raw::copy_(window, picked);
                  return {g, grad_src};
                });
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::int64_t padding_idx) {
  RG_CHECK(weight.dim() == 2, "embedding: weight must be 2-D [num_embeddings, dim], got shape ", weight.shape());
  RG_CHECK(padding_idx < weight.size(0), "embedding: padding_idx ", padding_idx, " is out of range for ",
           weight.size(0), " embeddings");
  return record("embedding", raw::embedding(weight, indices), {weight},
                [saved_indices = SavedTensor(indices), padding_idx,
                 num_weights = weight.size(0)](const Tensor& g) -> std::vector<Tensor> {
                  return {raw::embedding_backward(g, saved_indices.unpack("embedding"), num_weights, padding_idx)};
                });
}

}  // namespace recgrad

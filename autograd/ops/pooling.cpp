#include "autograd/ops/pooling.h"

#include "autograd/function.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/view.h"

namespace recgrad {

namespace {
Pool2dOptions as_2d(const Pool1dOptions& options) {
  return Pool2dOptions{.kernel = {1, options.kernel},
                       .stride = {1, options.stride},
                       .padding = {0, options.padding},
                       .dilation = {1, options.dilation},
                       .ceil_mode = options.ceil_mode};
}

void check_1d(const Tensor& x, const char* op) {
  RG_CHECK(x.dim() == 2 || x.dim() == 3, op, ": expected an input [B, C, L] or [C, L], got ", x.shape());
}
}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  raw::MaxPool2dResult pooled = raw::max_pool2d(x, options);
  return record("max_pool2d", std::move(pooled.values), {x},
                [indices = pooled.indices, in_shape = x.shape(), options](const Tensor& g) -> std::vector<Tensor> {
                  return {raw::max_pool2d_backward(g, indices, in_shape, options)};
                });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options, bool count_include_pad) {
  return record("avg_pool2d", raw::avg_pool2d(x, options, count_include_pad), {x},
                [in_shape = x.shape(), options, count_include_pad](const Tensor& g) -> std::vector<Tensor> {
                  return {raw::avg_pool2d_backward(g, in_shape, options, count_include_pad)};
                });
}

Tensor max_pool1d(const Tensor& x, const Pool1dOptions& options) {
  check_1d(x, "max_pool1d");
  return squeeze(max_pool2d(unsqueeze(x, -2), as_2d(options)), -2);
}

Tensor avg_pool1d(const Tensor& x, const Pool1dOptions& options, bool count_include_pad) {
  check_1d(x, "avg_pool1d");
  return squeeze(avg_pool2d(unsqueeze(x, -2), as_2d(options), count_include_pad), -2);
}

Tensor global_max_pool(const Tensor& x, std::int64_t dim, bool keepdim) { return max(x, dim, keepdim); }

}  // namespace recgrad

#include "nn/pooling.h"

namespace recgrad::nn {

Tensor MaxPool2d::forward(const Tensor& x) const { return max_pool2d(x, options); }
Tensor AvgPool2d::forward(const Tensor& x) const { return avg_pool2d(x, options, count_include_pad); }
Tensor MaxPool1d::forward(const Tensor& x) const { return max_pool1d(x, options); }
Tensor AvgPool1d::forward(const Tensor& x) const { return avg_pool1d(x, options, count_include_pad); }
Tensor GlobalMaxPool::forward(const Tensor& x) const { return global_max_pool(x, dim, keepdim); }

}  // namespace recgrad::nn

// Broadcasting binary arithmetic without autograd: out = a (op) b, where the
// shapes broadcast NumPy-style and both operands share one dtype.
#pragma once

#include <string_view>

#include "core/ops/view.h"
#include "core/tensor.h"

namespace recgrad::raw {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// dst += alpha * src in place (src broadcasts to dst); bumps dst's version.
void add_(const Tensor& dst, const Tensor& src, double alpha = 1.0);
/// dst *= factor in place; bumps dst's version.
void mul_(const Tensor& dst, double factor);

/// Checks that a and b may be combined by `op` (same device and dtype) and
/// returns their broadcast shape.
Shape check_binary(const Tensor& a, const Tensor& b, std::string_view op);

}  // namespace recgrad::raw

#include "autograd/ops/elementwise.h"

#include <cmath>

#include "autograd/function.h"
#include "core/ops/binary.h"
#include "core/ops/compare.h"
#include "core/ops/reduce.h"
#include "core/ops/unary.h"

namespace recgrad {

namespace {

// Records a one-input op whose input gradient is `input_grad(g, saved)`,
// where `saved` is the tensor the backward needs (the input or the output).
template <typename InputGrad>
Tensor record_unary(const std::string& name, const Tensor& out, const Tensor& x, const Tensor& saved,
                    InputGrad input_grad) {
  if (!any_requires_grad({x})) return out;
  return record(name, out, {x}, [name, saved = SavedTensor(saved), input_grad](const Tensor& g) -> std::vector<Tensor> {
    return {input_grad(g, saved.unpack(name))};
  });
}

}  // namespace

Tensor exp(const Tensor& x) {
  const Tensor y = raw::exp(x);
  return record_unary("exp", y, x, y, [](const Tensor& g, const Tensor& y) { return raw::mul(g, y); });
}

Tensor log(const Tensor& x) {
  return record_unary("log", raw::log(x), x, x, [](const Tensor& g, const Tensor& x) { return raw::div(g, x); });
}

Tensor sqrt(const Tensor& x) {
  const Tensor y = raw::sqrt(x);
  return record_unary("sqrt", y, x, y, [](const Tensor& g, const Tensor& y) { return raw::sqrt_backward(g, y); });
}

Tensor rsqrt(const Tensor& x) {
  const Tensor y = raw::rsqrt(x);
  return record_unary("rsqrt", y, x, y, [](const Tensor& g, const Tensor& y) { return raw::rsqrt_backward(g, y); });
}

Tensor abs(const Tensor& x) {
  return record_unary("abs", raw::abs(x), x, x,
                      [](const Tensor& g, const Tensor& x) { return raw::abs_backward(g, x); });
}

Tensor square(const Tensor& x) {
  return record_unary("square", raw::square(x), x, x,
                      [](const Tensor& g, const Tensor& x) { return raw::square_backward(g, x); });
}

Tensor pow(const Tensor& x, double exponent) {
  return record_unary("pow", raw::pow(x, exponent), x, x,
                      [exponent](const Tensor& g, const Tensor& x) { return raw::pow_backward(g, x, exponent); });
}

Tensor pow(const Tensor& x, const Tensor& exponent) {
  Tensor out = raw::pow(x, exponent);
  if (!any_requires_grad({x, exponent})) return out;
  return record(
      "pow", out, {x, exponent},
      [saved_x = SavedTensor(x), saved_e = SavedTensor(exponent), x_shape = x.shape(), e_shape = exponent.shape(),
       x_needs = x.requires_grad(), e_needs = exponent.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
        const Tensor x = saved_x.unpack("pow"), e = saved_e.unpack("pow");
        Tensor gx, ge;
        if (x_needs) {
          gx = raw::sum_to(raw::pow_backward_base(g, x, e), x_shape);
        }
        if (e_needs) {
          ge = raw::sum_to(raw::pow_backward_exponent(g, x, e), e_shape);
        }
        return {gx, ge};
      });
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  return record_unary("clamp", raw::clamp(x, lo, hi), x, x,
                      [lo, hi](const Tensor& g, const Tensor& x) { return raw::clamp_backward(g, x, lo, hi); });
}

namespace {
Tensor extremum(const Tensor& a, const Tensor& b, bool is_maximum) {
  Tensor out = is_maximum ? raw::maximum(a, b) : raw::minimum(a, b);
  if (!any_requires_grad({a, b})) return out;
  const char* name = is_maximum ? "maximum" : "minimum";
  return record(
      name, out, {a, b},
      [name, is_maximum, saved_a = SavedTensor(a), saved_b = SavedTensor(b), a_shape = a.shape(), b_shape = b.shape(),
       a_needs = a.requires_grad(), b_needs = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
        const Tensor a = saved_a.unpack(name), b = saved_b.unpack(name);
        Tensor ga, gb;
        if (a_needs) ga = raw::sum_to(raw::extremum_backward(g, a, b, is_maximum), a_shape);
        if (b_needs) gb = raw::sum_to(raw::extremum_backward(g, b, a, is_maximum), b_shape);
        return {ga, gb};
      });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(a, b, false); }

Tensor eq(const Tensor& a, const Tensor& b) { return raw::eq(a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return raw::ne(a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return raw::lt(a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return raw::le(a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return raw::gt(a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return raw::ge(a, b); }
Tensor eq(const Tensor& a, double b) { return raw::eq(a, b); }
Tensor ne(const Tensor& a, double b) { return raw::ne(a, b); }
Tensor lt(const Tensor& a, double b) { return raw::lt(a, b); }
Tensor le(const Tensor& a, double b) { return raw::le(a, b); }
Tensor gt(const Tensor& a, double b) { return raw::gt(a, b); }
Tensor ge(const Tensor& a, double b) { return raw::ge(a, b); }
Tensor logical_not(const Tensor& mask) { return raw::logical_not(mask); }

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  Tensor out = raw::where(condition, a, b);
  if (!any_requires_grad({a, b})) return out;
  return record("where", out, {a, b},
                [saved_condition = SavedTensor(condition), a_shape = a.shape(), b_shape = b.shape(),
                 a_needs = a.requires_grad(), b_needs = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
                  const Tensor condition = saved_condition.unpack("where");
                  Tensor ga, gb;
                  if (a_needs) ga = raw::sum_to(raw::masked_fill(g, raw::logical_not(condition), 0.0), a_shape);
                  if (b_needs) gb = raw::sum_to(raw::masked_fill(g, condition, 0.0), b_shape);
                  return {ga, gb};
                });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  return record_unary("masked_fill", raw::masked_fill(x, mask, value), x, mask,
                      [](const Tensor& g, const Tensor& mask) { return raw::masked_fill(g, mask, 0.0); });
}

}  // namespace recgrad

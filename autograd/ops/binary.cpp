#include "autograd/ops/binary.h"

#include "autograd/function.h"
#include "autograd/ops/view.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/reduce.h"

namespace recgrad {

namespace {
// Keeps the gradient of a broadcast operand only when it is needed.
Tensor reduce_if(bool needed, const Tensor& grad, const Shape& shape) {
  return needed ? sum_to(grad, shape) : Tensor();
}
Tensor scalar_like(double value, const Tensor& like) { return scalar_tensor(value, {like.dtype(), like.device()}); }
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", raw::add(a, b), {a, b},
                [sa = a.shape(), sb = b.shape(), na = a.requires_grad(),
                 nb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
                  return {reduce_if(na, g, sa), reduce_if(nb, g, sb)};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", raw::sub(a, b), {a, b},
                [sa = a.shape(), sb = b.shape(), na = a.requires_grad(),
                 nb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
                  return {reduce_if(na, g, sa), nb ? sum_to(neg(g), sb) : Tensor()};
                });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return record("mul", raw::mul(a, b), {a, b},
                [saved_a = SavedTensor(b.requires_grad() ? a : Tensor()),
                 saved_b = SavedTensor(a.requires_grad() ? b : Tensor()), sa = a.shape(), sb = b.shape(),
                 na = a.requires_grad(), nb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
                  Tensor ga, gb;
                  if (na) ga = sum_to(mul(g, saved_b.unpack("mul")), sa);
                  if (nb) gb = sum_to(mul(g, saved_a.unpack("mul")), sb);
                  return {ga, gb};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  return record(
      "div", raw::div(a, b), {a, b},
      [saved_a = SavedTensor(b.requires_grad() ? a : Tensor()), saved_b = SavedTensor(b), sa = a.shape(),
       sb = b.shape(), na = a.requires_grad(), nb = b.requires_grad()](const Tensor& g) -> std::vector<Tensor> {
        const Tensor b = saved_b.unpack("div");
        Tensor ga, gb;
        if (na) ga = sum_to(div(g, b), sa);
        if (nb) gb = sum_to(neg(div(mul(g, saved_a.unpack("div")), mul(b, b))), sb);
        return {ga, gb};
      });
}

Tensor neg(const Tensor& a) {
  return record("neg", raw::mul(a, scalar_like(-1.0, a)), {a},
                [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
}

Tensor add(const Tensor& a, double s) {
  return record("add_scalar", raw::add(a, scalar_like(s, a)), {a},
                [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
}

Tensor mul(const Tensor& a, double s) {
  return record("mul_scalar", raw::mul(a, scalar_like(s, a)), {a},
                [s](const Tensor& g) -> std::vector<Tensor> { return {mul(g, s)}; });
}

Tensor rsub(const Tensor& a, double s) {
  return record("rsub_scalar", raw::sub(scalar_like(s, a), a), {a},
                [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
}

// d(s / a)/da = -s / a^2
Tensor rdiv(const Tensor& a, double s) {
  return record("rdiv_scalar", raw::div(scalar_like(s, a), a), {a},
                [saved_a = SavedTensor(a), s](const Tensor& g) -> std::vector<Tensor> {
                  const Tensor x = saved_a.unpack("rdiv_scalar");
                  return {mul(div(g, mul(x, x)), -s)};
                });
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return record("sum_to", raw::sum_to(x, shape), {x},
                [in_shape = x.shape()](const Tensor& g) -> std::vector<Tensor> { return {expand(g, in_shape)}; });
}

}  // namespace recgrad

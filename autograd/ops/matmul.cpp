#include "autograd/ops/matmul.h"

#include "autograd/function.h"
#include "core/ops/matmul.h"
#include "core/ops/reduce.h"
#include "core/ops/view.h"

namespace recgrad {

namespace {

// A 1-D left operand acts as a row vector [1, k].
Shape left_matrix_shape(const Shape& a) { return a.size() == 1 ? Shape{1, a[0]} : a; }
// A 1-D right operand acts as a column vector [k, 1].
Shape right_matrix_shape(const Shape& b) { return b.size() == 1 ? Shape{b[0], 1} : b; }
// The transpose of the last two dims (a view that BLAS reads with CblasTrans).
Tensor mT(const Tensor& x) { return raw::transpose(x, -2, -1); }

// da = g @ b^T, summed over broadcast batch dims back to a's shape.
Tensor matmul_grad_left(const Tensor& g2, const Shape& a_shape, const Tensor& b) {
  const Tensor b2 = raw::reshape(b, right_matrix_shape(b.shape()));
  return raw::reshape(raw::sum_to(raw::matmul(g2, mT(b2)), left_matrix_shape(a_shape)), a_shape);
}

// db = a^T @ g, summed over broadcast batch dims back to b's shape. For a
// batched a and a 2-D b the batch folds into the GEMM's reduction:
// db = A^T G with A = a as [batch * n, k] and G = g as [batch * n, m].
Tensor matmul_grad_right(const Tensor& g2, const Tensor& a, const Shape& b_shape) {
  const Tensor a2 = raw::reshape(a, left_matrix_shape(a.shape()));
  const Shape b2_shape = right_matrix_shape(b_shape);
  if (b2_shape.size() == 2 && a2.dim() > 2) {
    const Tensor a_rows = raw::reshape(a2, {-1, a2.size(-1)});
    const Tensor g_rows = raw::reshape(g2, {a_rows.size(0), b2_shape[1]});
    return raw::reshape(raw::mm(raw::transpose(a_rows, 0, 1), g_rows), b_shape);
  }
  return raw::reshape(raw::sum_to(raw::matmul(mT(a2), g2), b2_shape), b_shape);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = raw::matmul(a, b);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("matmul", std::move(out), {a, b},
                [saved_a = SavedTensor(need_b ? a : Tensor()), saved_b = SavedTensor(need_a ? b : Tensor()), need_a,
                 need_b, a_shape = a.shape(), b_shape = b.shape()](const Tensor& g) -> std::vector<Tensor> {
                  const Shape out2_shape = raw::matmul_shape(left_matrix_shape(a_shape), right_matrix_shape(b_shape));
                  const Tensor g2 = raw::reshape(g, out2_shape);
                  Tensor ga, gb;
                  if (need_a) ga = matmul_grad_left(g2, a_shape, saved_b.unpack("matmul"));
                  if (need_b) gb = matmul_grad_right(g2, saved_a.unpack("matmul"), b_shape);
                  return {ga, gb};
                });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor out = raw::linear(x, weight, bias);
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  return record(
      "linear", std::move(out), {x, weight, bias},
      [saved_x = SavedTensor(need_w ? x : Tensor()), saved_w = SavedTensor(need_x ? weight : Tensor()), need_x, need_w,
       need_b, x_shape = x.shape(), w_shape = weight.shape()](const Tensor& g) -> std::vector<Tensor> {
        const std::int64_t out_features = w_shape[0], in = w_shape[1];
        const Tensor g_rows = raw::reshape(g, {-1, out_features});
        Tensor gx, gw, gb;
        if (need_x) gx = raw::reshape(raw::mm(g_rows, saved_w.unpack("linear")), x_shape);  // g W
        if (need_w) {                                                                       // g^T x
          const Tensor x_rows = raw::reshape(saved_x.unpack("linear"), {g_rows.size(0), in});
          gw = raw::mm(raw::transpose(g_rows, 0, 1), x_rows);
        }
        if (need_b) gb = raw::sum(g_rows, {0});  // column sums of g
        return {gx, gw, gb};
      });
}

}  // namespace recgrad

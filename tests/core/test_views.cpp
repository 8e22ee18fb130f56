// Views share storage and compute the right strides; reshape copies only when it must.
#include <gtest/gtest.h>

#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "recgrad.h"

using namespace recgrad;

namespace {
Tensor iota(Shape shape) { return reshape(arange(0, static_cast<double>(numel_of(shape)), 1, {DType::f32}), shape); }
std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }
}  // namespace

TEST(Views, PermuteNarrowSelectSlice) {
  Tensor x = iota({2, 3, 4});
  Tensor p = permute(x, {2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Strides{1, 12, 4}));
  EXPECT_EQ(values(select(p, 0, 1)), (std::vector<float>{1, 5, 9, 13, 17, 21}));
  EXPECT_EQ(values(narrow(x, 2, 1, 2)), (std::vector<float>{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}));
  EXPECT_EQ(values(slice(x, 2, 0, 4, 3)), (std::vector<float>{0, 3, 4, 7, 8, 11, 12, 15, 16, 19, 20, 23}));
  EXPECT_EQ(values(slice(iota({5}), 0, -2, 100)), (std::vector<float>{3, 4}));
  EXPECT_TRUE(select(p, 0, 1).shares_storage(x));
}

TEST(Views, ReshapeViewsWhenLayoutAllows) {
  Tensor x = iota({4, 6});
  Tensor cols = narrow(x, 0, 1, 2);  // rows 1..2: still row-contiguous
  Tensor r = reshape(cols, {3, 4});
  EXPECT_TRUE(r.shares_storage(x));
  EXPECT_EQ(values(r), values(contiguous(cols)));
  Tensor xt = transpose(x, 0, 1);  // [6, 4] with strides [1, 6]
  EXPECT_THROW(view(xt, {24}), Error);
  Tensor flat = reshape(xt, {24});
  EXPECT_FALSE(flat.shares_storage(x));
  EXPECT_EQ(values(flat), values(contiguous(xt)));
  Tensor split = view(xt, {2, 3, 4});  // splitting a dim is always a view
  EXPECT_TRUE(split.shares_storage(x));
  EXPECT_EQ(values(split), values(xt));
  EXPECT_EQ(reshape(x, {-1, 8}).shape(), (Shape{3, 8}));
  EXPECT_THROW(reshape(x, {5, -1}), Error);
  EXPECT_THROW(reshape(x, {-1, -1}), Error);
}

TEST(Views, ExpandUnsqueezeSqueeze) {
  Tensor x = iota({3});
  Tensor e = expand(unsqueeze(x, 0), {2, 3});
  EXPECT_EQ(e.strides(), (Strides{0, 1}));
  EXPECT_EQ(values(e), (std::vector<float>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(squeeze(unsqueeze(x, -1), -1).shape(), (Shape{3}));
  EXPECT_THROW(expand(x, {2, 4}), Error);
  EXPECT_THROW(squeeze(x, 0), Error);
  EXPECT_THROW(transpose(x, 0, 2), Error);
}

TEST(Views, ViewGradientsFlowBack) {
  Tensor x = randn({2, 3, 4}, {DType::f64}).requires_grad_();
  auto check = [&](std::function<Tensor(const Tensor&)> f) {
    auto result = gradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x});
    EXPECT_TRUE(result.ok) << result.report;
  };
  check([](const Tensor& v) { return reshape(transpose(v, 0, 2), {4, 6}); });
  check([](const Tensor& v) { return permute(v, {1, 2, 0}) * 2.0; });
  check([](const Tensor& v) { return narrow(v, 1, 1, 2); });
  check([](const Tensor& v) { return slice(v, 2, 1, 4, 2); });
  check([](const Tensor& v) { return select(v, 0, 1); });
  check([](const Tensor& v) { return expand(unsqueeze(select(v, 2, 0), 0), {5, 2, 3}); });
  check([](const Tensor& v) { return squeeze(unsqueeze(flatten(v, 1), 1), 1); });
  check([](const Tensor& v) { return contiguous(transpose(v, 1, 2)); });
}

TEST(Views, ToDtypeConvertsTheGradientBack) {
  // Finite differences through f32 are meaningless; check the exact gradient instead.
  Tensor x = from_vector<double>({1.5, -2.0}).requires_grad_();
  Tensor y = to_dtype(x, DType::f32);
  EXPECT_EQ(y.dtype(), DType::f32);
  sum(y * 3.0).backward();
  EXPECT_EQ(x.grad().dtype(), DType::f64);
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3.0, 3.0}));
}

TEST(Views, CopyBroadcastsAndConverts) {
  Tensor dst = zeros({2, 3});
  raw::copy_(dst, from_vector<std::int64_t>({7, 8, 9}));
  EXPECT_EQ(values(dst), (std::vector<float>{7, 8, 9, 7, 8, 9}));
  raw::copy_(transpose(reshape(dst, {3, 2}), 0, 1), iota({2, 3}));
  EXPECT_EQ(values(dst), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(raw::copy_(dst, iota({4})), Error);
}

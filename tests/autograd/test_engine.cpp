// The backward engine: accumulation, graph shapes, retain_graph, grad mode,
// detach, in-place detection and freeing of the graph.
#include <gtest/gtest.h>

#include "core/ops/binary.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "recgrad.h"

using namespace recgrad;

namespace {
Tensor leaf(std::vector<double> values, Shape shape) { return from_vector(values, shape).requires_grad_(); }
std::vector<double> grad_of(const Tensor& t) { return t.grad().to_vector<double>(); }
}  // namespace

TEST(Engine, DiamondGraphSumsBothPaths) {
  // y = x*x + x*3  ->  dy/dx = 2x + 3
  Tensor x = leaf({1, 2}, {2});
  Tensor y = sum(x * x + x * 3.0);
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{5, 7}));
}

TEST(Engine, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = leaf({1, 2}, {2});
  sum(x * 2.0).backward();
  sum(x * 3.0).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{5, 5}));
}

TEST(Engine, SameTensorTwiceAsInput) {
  Tensor x = leaf({3}, {1});
  Tensor h = x * 2.0;  // non-leaf used twice by one node
  (h * h).backward(ones({1}, {DType::f64}));
  EXPECT_EQ(grad_of(x), (std::vector<double>{24}));  // d(4x^2)/dx = 8x
}

TEST(Engine, NonScalarOutputNeedsExplicitGradient) {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = x * 2.0;
  EXPECT_THROW(y.backward(), Error);
  y.backward(from_vector<double>({1, 0, -1}, {3}));
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 0, -2}));
  EXPECT_THROW(backward(x * 1.0, from_vector<double>({1, 2}, {2})), Error);  // wrong gradient shape
}

TEST(Engine, GraphIsFreedUnlessRetained) {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = sum(x * x);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{4, 8}));
  EXPECT_THROW(y.backward(), Error);
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = leaf({1}, {1});
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
  }
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Engine, DetachCutsTheGraph) {
  Tensor x = leaf({2}, {1});
  Tensor y = x * x;
  Tensor z = sum(y.detach() * x);  // dz/dx = y (treated as constant) = 4
  EXPECT_FALSE(y.detach().requires_grad());
  EXPECT_TRUE(y.detach().shares_storage(y));
  z.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{4}));
}

TEST(Engine, BackwardOfTensorWithoutGradThrows) {
  Tensor x = from_vector<double>({1}, {1});
  EXPECT_THROW(sum(x).backward(), Error);
}

TEST(Engine, InPlaceChangeOfSavedTensorIsDetected) {
  Tensor a = leaf({1, 2}, {2});
  Tensor b = from_vector<double>({3, 4}, {2});
  Tensor y = sum(a * b);  // mul saves b for a's gradient
  raw::add_(b, ones({2}, {DType::f64}));
  try {
    y.backward();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("modified in place"), std::string::npos) << e.what();
  }
}

TEST(Engine, InPlaceChangeThroughAViewIsDetected) {
  Tensor a = leaf({1, 2, 3, 4}, {4});
  Tensor b = from_vector<double>({1, 1, 1, 1}, {2, 2});
  Tensor y = sum(a * reshape(b, {4}));
  raw::fill_(raw::select(b, 0, 1), 5.0);  // writes through a view of the same storage
  EXPECT_THROW(y.backward(), Error);
}

TEST(Engine, BranchWithoutGradientStillReleasesDependencies) {
  // z depends on h through two paths; one goes through a node whose other
  // input needs no gradient. Every path must be counted exactly once.
  Tensor x = leaf({1, 2}, {2});
  Tensor h = x * 2.0;
  Tensor constant = from_vector<double>({5, 5}, {2});
  Tensor z = sum(h * constant + h);
  z.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{12, 12}));
}

TEST(Engine, LongChainDoesNotOverflowTheStack) {
  Tensor x = leaf({1}, {1});
  Tensor y = x;
  for (int i = 0; i < 200000; ++i) y = y * 1.0;
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{1}));
}

TEST(Engine, RequiresGradOnlyForFloatingLeaves) {
  Tensor i = arange(0, 3, 1, {DType::i64});
  EXPECT_THROW(i.requires_grad_(), Error);
  Tensor x = leaf({1}, {1});
  Tensor y = x * 2.0;
  EXPECT_THROW(y.requires_grad_(false), Error);
}

#include <gtest/gtest.h>

#include "recgrad.h"

using namespace recgrad;

TEST(Tensor, ViewsShareStorage) {
  Tensor x = arange(0, 6, 1, {DType::f32});
  Tensor m = reshape(x, {2, 3});
  Tensor mt = transpose(m, 0, 1);
  EXPECT_TRUE(mt.shares_storage(x));
  EXPECT_FALSE(mt.is_contiguous());
  EXPECT_EQ(mt.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Tensor c = contiguous(mt);
  EXPECT_FALSE(c.shares_storage(x));
  EXPECT_TRUE(contiguous(m).shares_storage(x));
}

TEST(Tensor, BroadcastAdd) {
  Tensor a = from_vector<float>({1, 2, 3}, {3, 1});
  Tensor b = from_vector<float>({10, 20}, {2});
  EXPECT_EQ((a + b).to_vector<float>(), (std::vector<float>{11, 21, 12, 22, 13, 23}));
  EXPECT_THROW(add(from_vector<float>({1, 2}), from_vector<float>({1, 2, 3})), Error);
}

TEST(Autograd, MulSumBackward) {
  Tensor a = from_vector<double>({1, 2, 3}, {3, 1}).requires_grad_();
  Tensor b = from_vector<double>({4, 5}, {2}).requires_grad_();
  Tensor loss = sum(a * b);
  loss.backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{9, 9, 9}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{6, 6}));
}

TEST(Autograd, GradcheckArithmetic) {
  manual_seed(0);
  Tensor a = randn({3, 4}, {DType::f64}).requires_grad_();
  Tensor b = add(randn({4}, {DType::f64}), 3.0).requires_grad_();
  auto result =
      gradcheck([](const std::vector<Tensor>& x) { return (x[0] * x[1] - x[0]) / x[1] + 2.0 / x[1]; }, {a, b});
  EXPECT_TRUE(result.ok) << result.report;
}

TEST(Tensor, HostKernelsRefuseDeviceTensors) {
  // A storage labelled cuda:0 (backed by host memory so no GPU is needed):
  // every CPU kernel must refuse it with an Error, never dereference it.
  auto storage = std::make_shared<Storage>(new float[4]{}, 4 * sizeof(float), Device::cuda(),
                                           [](void* p, std::size_t) { delete[] static_cast<float*>(p); });
  Tensor on_device = Tensor::from_storage(storage, {4}, {1}, 0, DType::f32);
  EXPECT_THROW(add(on_device, on_device), Error);
  EXPECT_THROW(sum(on_device), Error);
  EXPECT_THROW(on_device.data<float>(), Error);
  try {
    exp(on_device);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
  }
  EXPECT_NE(on_device.device_pointer(), nullptr);
}

// Module::to(Device) and the autograd to_device op. The CPU tests always run:
// moving to the CPU is a no-op, and asking for a GPU that is not there throws
// an Error naming the tensor and leaves the module as it was. The GPU tests
// (round trips, shared storage, gradients, optimizers, checkpoints) skip
// without a GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda/runtime.h"
#include "core/ops/copy.h"
#include "nn/module.h"
#include "nn_test_util.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::nn;
using recgrad::nn::testing::bit_equal;
using recgrad::testing::expect_error;

namespace {

#define SKIP_WITH_CUDA()                                                                                           \
  do {                                                                                                             \
    if (cuda::cuda_available()) GTEST_SKIP() << "a CUDA device is present; this test is for machines without one"; \
  } while (false)

/// A linear layer, a tied copy of its weight, a view buffer sharing a storage, and an integer buffer.
struct Model : Module {
  std::shared_ptr<Linear> fc;
  Tensor table, first_row, counts;
  Model() {
    fc = register_module("fc", std::make_shared<Linear>(3, 2));
    register_parameter("tied", fc->weight);  // the same tensor under a second name
    table = register_parameter("table", randn({4, 3}));
    first_row = register_buffer("first_row", table.detach().as_strided({3}, {1}, 0));  // a view of table's storage
    counts = register_buffer("counts", zeros({2}, {DType::i64}));
  }
};

/// Every parameter and buffer handle of `model` (tied ones twice).
std::vector<Tensor> all_tensors(const Module& model) {
  std::vector<Tensor> tensors;
  for (const auto& [name, t] : model.named_parameters()) tensors.push_back(t);
  for (const auto& [name, t] : model.named_buffers()) tensors.push_back(t);
  return tensors;
}

}  // namespace

// ---- CPU ----

TEST(ModuleDevice, ToCpuIsANoOp) {
  manual_seed(1);
  Model model;
  sum(model.fc->forward(ones({5, 3})) * sum(model.table)).backward();
  std::vector<const void*> storages;
  for (const Tensor& t : all_tensors(model)) storages.push_back(t.storage().get());
  const Tensor grad_before = model.fc->weight.grad();

  Module& returned = model.to(Device::cpu());
  EXPECT_EQ(&returned, &model);
  const std::vector<Tensor> after = all_tensors(model);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(after[i].device().is_cpu());
    EXPECT_EQ(after[i].storage().get(), storages[i]) << "tensor " << i << " was copied";
  }
  EXPECT_EQ(model.fc->weight.grad().impl_ptr(), grad_before.impl_ptr()) << "the gradient was replaced";
}

TEST(ModuleDevice, ToCudaWithoutAGpuThrowsNamingTheTensorAndChangesNothing) {
  SKIP_WITH_CUDA();
  manual_seed(2);
  Model model;
  const Tensor weight_before = raw::clone(model.fc->weight);
  std::vector<const void*> storages;
  for (const Tensor& t : all_tensors(model)) storages.push_back(t.storage().get());
  const std::string reason = cuda::cuda_unavailable_reason();

  // The first tensor in named_parameters order is the module's own "tied" (fc.weight under a second name).
  expect_error([&] { model.to(Device::cuda()); },
               {"Module::to(cuda:0)", "parameter 'tied'", "shape [2, 3]", "from cpu", "CUDA", reason});
  expect_error([&] { model.to(Device::cuda(3)); }, {"Module::to(cuda:3)", "'tied'", "cuda:3"});
  const std::vector<Tensor> after = all_tensors(model);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(after[i].device().is_cpu());
    EXPECT_EQ(after[i].storage().get(), storages[i]);
  }
  EXPECT_TRUE(bit_equal(model.fc->weight, weight_before));

  // A module with no tensors still refuses a GPU that is not there.
  Module empty;
  expect_error([&] { empty.to(Device::cuda()); }, {"Module::to", "cuda:0", reason});
}

TEST(ModuleDevice, AutogradToDeviceOnTheCpu) {
  Tensor x = from_vector<float>({1, -2, 3}, {3}).requires_grad_();
  const Tensor y = to_device(x, Device::cpu());
  EXPECT_EQ(y.impl_ptr(), x.impl_ptr()) << "already there: the same tensor, no copy and no graph node";
  sum(y * y).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, -4, 6}));
}

TEST(ModuleDevice, AutogradToDeviceWithoutAGpuThrows) {
  SKIP_WITH_CUDA();
  const Tensor x = ones({2}).requires_grad_();
  expect_error([&] { to_device(x, Device::cuda()); },
               {"to_device", "CUDA requested (cuda:0)", cuda::cuda_unavailable_reason()});
}

// ---- GPU ----

TEST(ModuleDevice, RoundTripKeepsHandlesValuesSharingAndGradients) {
  SKIP_WITHOUT_CUDA();
  manual_seed(3);
  Model model;
  sum(model.fc->forward(ones({5, 3}))).backward();
  const Tensor weight_before = raw::clone(model.fc->weight);
  const Tensor table_before = raw::clone(model.table);
  const Tensor grad_before = raw::clone(model.fc->weight.grad());
  const Tensor handle = model.fc->weight;  // as an optimizer would hold it
  const auto impl = handle.impl_ptr();

  model.to(Device::cuda());
  for (const Tensor& t : all_tensors(model)) EXPECT_TRUE(t.device().is_cuda());
  EXPECT_EQ(handle.impl_ptr(), impl) << "the parameter is the same tensor, moved";
  EXPECT_TRUE(handle.device().is_cuda()) << "handles held elsewhere see the move";
  EXPECT_TRUE(handle.requires_grad());
  EXPECT_TRUE(model.first_row.shares_storage(model.table)) << "a view still views its base";
  EXPECT_EQ(model.counts.dtype(), DType::i64);
  ASSERT_TRUE(handle.grad().defined());
  EXPECT_TRUE(handle.grad().device().is_cuda()) << "the gradient moves along";

  model.to(Device::cpu());
  EXPECT_TRUE(bit_equal(model.fc->weight, weight_before));
  EXPECT_TRUE(bit_equal(model.table, table_before));
  EXPECT_TRUE(bit_equal(model.first_row, table_before.as_strided({3}, {1}, 0)));
  EXPECT_TRUE(bit_equal(model.fc->weight.grad(), grad_before));
  EXPECT_TRUE(model.first_row.shares_storage(model.table));
}

TEST(ModuleDevice, OptimizerBuiltBeforeTheMoveTrainsOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  manual_seed(4);
  Linear layer(3, 2);
  SGD sgd(layer.parameters(), {.lr = 0.1, .momentum = 0.9});  // holds the parameter handles
  layer.to(Device::cuda());
  const Tensor before = raw::to_device(layer.weight, Device::cpu());
  sum(layer.forward(ones({4, 3}, {DType::f32, Device::cuda()}))).backward();
  sgd.step();
  const Tensor after = raw::to_device(layer.weight, Device::cpu());
  // d(sum)/dW = 4 for every weight, so each one moved by -lr * 4 on the first step.
  const std::vector<float> b = before.to_vector<float>(), a = after.to_vector<float>();
  for (std::size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(a[i], b[i] - 0.4f, 1e-6);
  EXPECT_TRUE(sgd.find_state(layer.weight)->buffers.at("momentum_buffer").device().is_cuda());
}

TEST(ModuleDevice, AutogradToDeviceCarriesGradientsBack) {
  SKIP_WITHOUT_CUDA();
  // CPU leaf -> GPU computation: the gradient arrives on the CPU.
  Tensor x = from_vector<float>({1, -2, 3}, {3}).requires_grad_();
  const Tensor on_gpu = to_device(x, Device::cuda());
  EXPECT_TRUE(on_gpu.device().is_cuda());
  sum(on_gpu * on_gpu).backward();
  ASSERT_TRUE(x.grad().device().is_cpu());
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, -4, 6}));
  // GPU leaf -> CPU computation: the gradient arrives on the GPU.
  Tensor w = to_device(from_vector<float>({0.5f, 4}, {2}), Device::cuda()).requires_grad_();
  sum(to_device(w, Device::cpu()) * from_vector<float>({3, -1}, {2})).backward();
  ASSERT_TRUE(w.grad().device().is_cuda());
  EXPECT_EQ(raw::to_device(w.grad(), Device::cpu()).to_vector<float>(), (std::vector<float>{3, -1}));
}

TEST(ModuleDevice, SaveFromTheGpuLoadOnTheCpu) {
  SKIP_WITHOUT_CUDA();
  manual_seed(5);
  Model gpu_model;
  gpu_model.to(Device::cuda());
  const std::string path = ::testing::TempDir() + "module_device_test.safetensors";
  gpu_model.save(path);
  manual_seed(6);
  Model cpu_model;
  cpu_model.load(path);
  EXPECT_TRUE(bit_equal(cpu_model.table, raw::to_device(gpu_model.table, Device::cpu())));
  EXPECT_TRUE(bit_equal(cpu_model.fc->bias, raw::to_device(gpu_model.fc->bias, Device::cpu())));
  // And back: a CPU state into the GPU model.
  raw::fill_(cpu_model.fc->bias, 0.25);
  gpu_model.load_state_dict(cpu_model.state_dict());
  EXPECT_EQ(raw::to_device(gpu_model.fc->bias, Device::cpu()).to_vector<float>(), (std::vector<float>{0.25f, 0.25f}));
  EXPECT_TRUE(gpu_model.fc->bias.device().is_cuda());
  std::remove(path.c_str());
}

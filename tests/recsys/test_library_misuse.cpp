// A host program that embeds recgrad and misuses it (wrong shapes, dtypes, devices, ids, orders of calls) gets a
// recgrad::Error that says what was wrong, and keeps running with its objects unchanged: the library never
// aborts its host. Each case here is one misuse an application could plausibly make.
#include <gtest/gtest.h>

#include <cmath>

#include "core/cuda/runtime.h"
#include "datasets/synthetic.h"
#include "recgrad.h"
#include "recsys/sequential/sasrec.h"
#include "recsys/trainer.h"
#include "recsys/training_optimizer.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

datasets::SequenceDataset tiny_dataset(std::int64_t items) {
  datasets::SyntheticConfig config;
  config.num_users = 120;
  config.num_items = items;
  return datasets::generate_synthetic(config).dataset;
}

}  // namespace

TEST(LibraryMisuse, OpsWithIncompatibleShapesNameBoth) {
  const Tensor a = ones({2, 3}), b = ones({4, 5});
  expect_error([&] { (void)matmul(a, b); }, {"matmul", "[2, 3]", "[4, 5]"});
  expect_error([&] { (void)add(ones({2, 3}), ones({4, 3})); }, {"[2, 3]", "[4, 3]"});
  expect_error([&] { (void)reshape(ones({2, 3}), {4, 2}); }, {"reshape", "[4, 2]", "6 elements"});
  expect_error([&] { (void)from_vector<float>({1, 2, 3}, {2, 2}); }, {"3", "[2, 2]"});
}

TEST(LibraryMisuse, LayersRefuseInputsOfTheWrongWidthOrDtype) {
  manual_seed(0);
  nn::Linear linear(4, 3);
  expect_error([&] { (void)linear(ones({2, 5})); }, {"linear", "[2, 5]", "[3, 4]"});
  nn::Embedding embedding(10, 4);
  expect_error([&] { (void)embedding(from_vector<std::int64_t>({3, 10}, {2})); }, {"10"});
  expect_error([&] { (void)embedding(from_vector<std::int64_t>({-1}, {1})); }, {"-1"});
  expect_error([&] { (void)embedding(ones({2})); }, {"i64"});
}

TEST(LibraryMisuse, LossTargetsOutsideTheClassesAreNamed) {
  expect_error([&] { (void)cross_entropy(ones({2, 5}), from_vector<std::int64_t>({1, 7}, {2})); }, {"7", "5"});
}

TEST(LibraryMisuse, BackwardMisuseIsExplained) {
  const Tensor x = ones({3}).requires_grad_();
  const Tensor y = mul(x, 2.0);
  expect_error([&] { backward(y); }, {"one-element output", "[3]"});  // a non-scalar root needs its gradient
  const Tensor loss = sum(mul(x, x));
  backward(loss);
  expect_error([&] { backward(loss); }, {"retain_graph"});  // the graph was freed by the first backward
  expect_error([&] { backward(sum(ones({3}))); }, {"does not require grad"});  // nothing to differentiate
}

TEST(LibraryMisuse, CudaTensorsWithoutAUsableGpuOrMixedWithCpuTensors) {
  if (!cuda::cuda_available()) {
    // A CPU-only build, or a CUDA build on a machine without a GPU: a clear error, never an abort.
    try {
      (void)zeros({2}, {.device = Device::cuda()});
      ADD_FAILURE() << "expected a recgrad::Error";
    } catch (const Error& error) {
      const std::string message = error.what();
      EXPECT_TRUE(message.find("CUDA") != std::string::npos || message.find("cuda") != std::string::npos) << message;
    }
    return;
  }
  const Tensor on_gpu = zeros({2}, {.device = Device::cuda()});
  expect_error([&] { (void)add(ones({2}), on_gpu); }, {"device"});
}

TEST(LibraryMisuse, AStateDictOfTheWrongShapeIsRefusedAndChangesNothing) {
  manual_seed(0);
  nn::Linear linear(4, 3);
  const std::vector<float> before = linear.weight.to_vector<float>();
  nn::StateDict wrong;
  wrong.insert("weight", zeros({3, 5}));
  wrong.insert("bias", zeros({3}));
  expect_error([&] { (void)linear.load_state_dict(wrong); }, {"weight", "[3, 4]", "[3, 5]"});
  nn::StateDict missing;
  missing.insert("weight", zeros({3, 4}));
  expect_error([&] { (void)linear.load_state_dict(missing); }, {"bias"});
  EXPECT_EQ(linear.weight.to_vector<float>(), before) << "a refused state dict must leave the weights unchanged";
}

TEST(LibraryMisuse, OptimizerSettingsAndStateFromAnotherOptimizerAreRefused) {
  manual_seed(0);
  nn::Linear linear(4, 3);
  expect_error([&] { AdamW(linear.parameters(), {.lr = -1.0}); }, {"lr", "-1"});
  expect_error([&] { AdamW(linear.parameters(), {.lr = std::nan("")}); }, {"lr"});
  AdamW adamw(linear.parameters());
  nn::Linear other(5, 3);
  AdamW other_adamw(other.parameters());
  for (const Tensor& p : other.parameters()) p.set_grad(ones_like(p));
  other_adamw.step();
  expect_error([&] { adamw.load_state_dict(other_adamw.state_dict()); }, {"shape"});
}

TEST(LibraryMisuse, TrainingOnADatasetOfAnotherCatalogueIsRefusedBeforeAnyStep) {
  manual_seed(0);
  const datasets::SequenceDataset data = tiny_dataset(120);
  SASRec model(data.num_items + 25, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  auto optimizer = make_training_optimizer("adamw", model);
  TrainerOptions options;
  options.max_steps = 3;
  std::int64_t steps = 0;
  expect_error([&] { (void)train(model, *optimizer, data, options, [&](const TrainProgress&) { ++steps; }); },
               {"items", std::to_string(data.num_items), std::to_string(data.num_items + 25)});
  EXPECT_EQ(steps, 0);
}

TEST(LibraryMisuse, ScoringItemIdsOutsideTheCatalogueIsNamed) {
  manual_seed(0);
  SASRec model(30, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  SequenceBatch batch;
  batch.history = zeros({2, model.history_length()}, {.dtype = DType::i64});
  batch.targets = from_vector<std::int64_t>({1, 2}, {2});
  expect_error([&] { (void)model.score_items(batch, from_vector<std::int64_t>({1, 31}, {2, 1})); }, {"31"});
  SequenceBatch too_long = batch;
  too_long.history = zeros({2, model.history_length() + 4}, {.dtype = DType::i64});
  expect_error([&] { (void)model.score_all(too_long); }, {std::to_string(model.history_length())});
}

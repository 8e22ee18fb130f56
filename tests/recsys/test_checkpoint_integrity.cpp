// Checkpoint integrity: a checkpoint with one flipped byte in a weight, or without a checksum, is refused with an
// error naming the checkpoint; the run is never silently resumed from it.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "datasets/synthetic.h"
#include "nn/safetensors.h"
#include "recgrad.h"
#include "recsys/sequential/sasrec.h"
#include "recsys/trainer.h"
#include "recsys/training_optimizer.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;
using recgrad::testing::read_bytes;
using recgrad::testing::write_bytes;

namespace {

datasets::SequenceDataset tiny_synthetic() {
  datasets::SyntheticConfig config;
  config.num_users = 400;
  config.num_items = 120;
  return datasets::generate_synthetic(config).dataset;
}

// The file offset of the middle byte of tensor `name` in the safetensors file `bytes`.
std::size_t middle_of_tensor(const std::string& bytes, const std::string& name) {
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  const auto offsets = header.at(name).at("data_offsets");
  const auto begin = offsets[0].get<std::size_t>(), end = offsets[1].get<std::size_t>();
  EXPECT_LT(begin, end) << name;
  return 8 + n + (begin + end) / 2;
}

class CheckpointIntegrity : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/recgrad_checkpoint_integrity_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".safetensors";
    std::filesystem::remove(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // Trains a tiny SASRec for `max_steps` with checkpoints at path_ (resuming from it when it exists); counts the
  // training steps taken in `steps_taken`.
  TrainResult run(std::int64_t max_steps, std::int64_t* steps_taken) {
    manual_seed(0);
    SASRec model(data_.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
    auto optimizer = make_training_optimizer("adamw", model);
    TrainerOptions options;
    options.batch_size = 64;
    options.max_steps = max_steps;
    options.eval_every = 2;
    options.patience = 100;
    options.checkpoint_path = path_;
    return train(model, *optimizer, data_, options, [&](const TrainProgress& p) {
      if (!p.evaluated) ++*steps_taken;
    });
  }

  datasets::SequenceDataset data_ = tiny_synthetic();
  std::string path_;
};

}  // namespace

TEST_F(CheckpointIntegrity, AnIntactCheckpointResumes) {
  std::int64_t first = 0, second = 0;
  run(4, &first);
  EXPECT_FALSE(nn::read_safetensors(path_, nn::ChecksumPolicy::require).checksum.empty());
  const TrainResult resumed = run(6, &second);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(first, 4);
  EXPECT_EQ(second, 2);
}

TEST_F(CheckpointIntegrity, AFlippedWeightByteIsRefusedAndNeverResumed) {
  std::int64_t steps = 0;
  run(4, &steps);
  const std::string good = read_bytes(path_);
  // One bit of one weight, as a disk or copy error would flip it.
  const nn::StateDict weights = nn::load_safetensors(path_);
  std::string weight_name;
  for (const auto& [name, tensor] : weights) {
    if (name.rfind("model.", 0) == 0 && tensor.numel() > 0) {
      weight_name = name;
      break;
    }
  }
  ASSERT_FALSE(weight_name.empty());
  std::string bad = good;
  const std::size_t at = middle_of_tensor(good, weight_name);
  bad[at] = static_cast<char>(bad[at] ^ 0x10);
  write_bytes(path_, bad);

  std::int64_t resumed_steps = 0;
  expect_error([&] { run(6, &resumed_steps); },
               {"resume: checkpoint " + path_, "not resumed", "checksum mismatch", "corrupted"});
  EXPECT_EQ(resumed_steps, 0) << "no training step may run from a corrupted checkpoint";
  EXPECT_EQ(read_bytes(path_), bad) << "the refused checkpoint is left as it was, for inspection";
}

TEST_F(CheckpointIntegrity, ACheckpointWithoutChecksumIsRefused) {
  std::int64_t steps = 0;
  run(4, &steps);
  // The same tensors and metadata, rewritten without the checksum key (as another tool or an old version would).
  const std::string good = read_bytes(path_);
  std::uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  auto header = nlohmann::ordered_json::parse(good.substr(8, n));
  ASSERT_EQ(header.at("__metadata__").erase(nn::kSafetensorsChecksumKey), 1u);
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string stripped(8, '\0');
  const std::uint64_t length = text.size();
  std::memcpy(stripped.data(), &length, 8);
  write_bytes(path_, stripped + text + good.substr(8 + n));
  ASSERT_NO_THROW(nn::read_safetensors(path_));  // a valid safetensors file ...

  std::int64_t resumed_steps = 0;
  expect_error([&] { run(6, &resumed_steps); }, {"resume: checkpoint " + path_, "not resumed", "no checksum"});
  EXPECT_EQ(resumed_steps, 0);
}

// A file with a valid checksum that recgrad's trainer did not write (hand-made, or from another tool): a missing
// or malformed metadata entry is named, never a bare json exception.
TEST_F(CheckpointIntegrity, AHandMadeCheckpointWithMissingOrMalformedMetadataIsNamed) {
  std::int64_t steps = 0;
  run(4, &steps);
  const nn::SafetensorsContents good = nn::read_safetensors(path_, nn::ChecksumPolicy::require);

  std::map<std::string, std::string> without_scalars = good.metadata;
  ASSERT_EQ(without_scalars.erase("optim_scalars"), 1u);
  nn::save_safetensors(path_, good.tensors, without_scalars);
  std::int64_t resumed_steps = 0;
  expect_error([&] { run(6, &resumed_steps); }, {"resume: checkpoint " + path_, "no 'optim_scalars' metadata"});

  std::map<std::string, std::string> garbled_run = good.metadata;
  garbled_run.at("run") = "{\"step\": ";
  nn::save_safetensors(path_, good.tensors, garbled_run);
  expect_error([&] { run(6, &resumed_steps); }, {"resume: checkpoint " + path_, "'run' metadata is not valid JSON"});

  std::map<std::string, std::string> incomplete_run = good.metadata;
  incomplete_run.at("run") = "{\"step\": 4}";
  nn::save_safetensors(path_, good.tensors, incomplete_run);
  expect_error([&] { run(6, &resumed_steps); }, {"resume: checkpoint " + path_, "run state is incomplete"});

  std::map<std::string, std::string> garbled_configuration = good.metadata;
  garbled_configuration.at("configuration") = "[1, 2]";
  nn::save_safetensors(path_, good.tensors, garbled_configuration);
  expect_error([&] { run(6, &resumed_steps); }, {"resume: checkpoint " + path_, "'configuration' metadata"});
  EXPECT_EQ(resumed_steps, 0);
}

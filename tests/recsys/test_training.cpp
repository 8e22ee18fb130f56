// The trainer end to end: SASRec trained briefly on the Amazon Industrial release beats the most-popular
// baseline on validation; a run interrupted after a checkpoint and resumed follows exactly the same
// trajectory as an uninterrupted one (losses, validation curve, weights, bit for bit); bad settings are
// reported; time-to-target reads the curve.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/ops/copy.h"
#include "datasets/minionerec.h"
#include "datasets/synthetic.h"
#include "nn/safetensors.h"
#include "recgrad.h"
#include "recsys/popularity.h"
#include "recsys/sequential/sasrec.h"
#include "recsys/trainer.h"
#include "recsys/training_optimizer.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

const std::string kIndustrial = std::string(RECGRAD_SHARED_DIR) + "/data/amazon/Industrial_and_Scientific";

datasets::SequenceDataset small_synthetic() {
  datasets::SyntheticConfig config;
  config.num_users = 400;
  config.num_items = 120;
  return datasets::generate_synthetic(config).dataset;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(raw::contiguous(a).raw_data(), raw::contiguous(b).raw_data(),
                     static_cast<std::size_t>(a.numel()) * element_size(a.dtype())) == 0;
}

}  // namespace

TEST(Training, SASRecOnIndustrialBeatsMostPopularOnValidation) {
  if (!std::filesystem::exists(kIndustrial)) GTEST_SKIP() << "no Amazon data at " << kIndustrial;
  const datasets::SequenceDataset data = datasets::load_minionerec(kIndustrial);
  const double popular = MostPopular(data).evaluate(data.valid).ndcg(10);
  manual_seed(0);
  SASRec model(data.num_items, SASRecOptions{.max_length = 10});
  auto optimizer = make_training_optimizer("adamw", model);
  TrainerOptions options;
  options.max_epochs = 6;
  options.patience = 3;
  const TrainResult result = train(model, *optimizer, data, options);
  std::cout << "SASRec on Industrial: best valid NDCG@10 " << result.best_valid_ndcg10 << " at step "
            << result.best_step << " (most popular " << popular << "), test NDCG@10 " << result.test.ndcg(10) << ", "
            << result.train_seconds << " s\n";
  EXPECT_GT(result.best_valid_ndcg10, popular);
  EXPECT_EQ(result.best_valid.rows, static_cast<std::int64_t>(data.valid.size()));
  EXPECT_EQ(result.test.rows, static_cast<std::int64_t>(data.test.size()));
}

TEST(Training, ResumedRunEqualsUninterrupted) {
  const datasets::SequenceDataset data = small_synthetic();
  const std::string dir = ::testing::TempDir() + "/recgrad_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TrainerOptions options;
  options.batch_size = 64;
  options.max_steps = 30;
  options.eval_every = 10;
  options.patience = 100;
  options.seed = 3;
  options.loss = LossKind::sampled_bce;  // exercises the negative sampler's stream too
  options.negatives = 2;
  auto run = [&](const std::string& checkpoint, std::int64_t max_steps) {
    manual_seed(options.seed);
    SASRec model(data.num_items, SASRecOptions{.hidden = 16, .layers = 1, .heads = 2, .inner = 32, .dropout = 0.3});
    auto optimizer = make_training_optimizer("muon", model);
    TrainerOptions o = options;
    o.checkpoint_path = checkpoint;
    o.max_steps = max_steps;
    return train(model, *optimizer, data, o);
  };
  const TrainResult whole = run(dir + "/whole.safetensors", 30);
  const TrainResult first_part = run(dir + "/split.safetensors", 20);  // "interrupted" after step 20
  EXPECT_FALSE(first_part.resumed);
  const TrainResult resumed = run(dir + "/split.safetensors", 30);
  EXPECT_TRUE(resumed.resumed);
  ASSERT_EQ(whole.curve.size(), 3u);
  ASSERT_EQ(resumed.curve.size(), whole.curve.size());
  for (std::size_t i = 0; i < whole.curve.size(); ++i) {
    EXPECT_EQ(resumed.curve[i].step, whole.curve[i].step);
    EXPECT_EQ(resumed.curve[i].train_loss, whole.curve[i].train_loss) << "evaluation " << i;
    EXPECT_EQ(resumed.curve[i].valid.ndcg(10), whole.curve[i].valid.ndcg(10)) << "evaluation " << i;
  }
  EXPECT_EQ(resumed.best_step, whole.best_step);
  EXPECT_EQ(resumed.test.ndcg(10), whole.test.ndcg(10));
  // the final checkpoints hold bit-identical weights and optimizer state
  const nn::StateDict a = nn::load_safetensors(dir + "/whole.safetensors");
  const nn::StateDict b = nn::load_safetensors(dir + "/split.safetensors");
  ASSERT_EQ(a.names(), b.names());
  for (const auto& [name, tensor] : a) EXPECT_TRUE(same_bytes(tensor, b.at(name))) << name;
  std::filesystem::remove_all(dir);
}

TEST(Training, ACheckpointOfAnotherRunIsRefused) {
  const datasets::SequenceDataset data = small_synthetic();
  const std::string path = ::testing::TempDir() + "/recgrad_other_run.safetensors";
  std::filesystem::remove(path);
  TrainerOptions options;
  options.max_steps = 2;
  options.eval_every = 2;
  options.checkpoint_path = path;
  manual_seed(0);
  SASRec small(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  auto adamw = make_training_optimizer("adamw", small);
  train(small, *adamw, data, options);
  SASRec other(data.num_items, SASRecOptions{.hidden = 16, .layers = 1, .heads = 1, .inner = 8});
  auto other_optimizer = make_training_optimizer("adamw", other);
  expect_error([&] { train(other, *other_optimizer, data, options); }, {"resume", path, "another run"});
  std::filesystem::remove(path);
}

TEST(Training, BadSettingsAndTimeToTarget) {
  const datasets::SequenceDataset data = small_synthetic();
  manual_seed(0);
  SASRec model(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  auto optimizer = make_training_optimizer("adamw", model);
  TrainerOptions options;
  options.max_epochs = 0;
  expect_error([&] { train(model, *optimizer, data, options); }, {"budget"});
  SASRec wrong(data.num_items + 1, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  options.max_epochs = 1;
  expect_error([&] { train(wrong, *optimizer, data, options); }, {"scores", "items"});
  expect_error([&] { make_training_optimizer("sgd-ish", model); }, {"unknown optimizer", "adamw", "muon"});
  std::vector<EvalPoint> curve(3);
  curve[0].step = 10, curve[1].step = 20, curve[2].step = 30;
  for (std::size_t i = 0; i < 3; ++i) {
    curve[i].valid.at_k = {{10, 0.0, 0.1 * static_cast<double>(i + 1), 0.0}};
  }
  EXPECT_EQ(first_step_reaching(curve, 0.15), 20);
  EXPECT_EQ(first_step_reaching(curve, 0.31), -1);
}

TEST(Training, TheAuditRecordsWithoutChangingTheTrajectory) {
  const datasets::SequenceDataset data = small_synthetic();
  const std::string path = ::testing::TempDir() + "/recgrad_audit.jsonl";
  auto run = [&](bool audited) {
    manual_seed(5);
    SASRec model(data.num_items, SASRecOptions{.hidden = 16, .layers = 1, .heads = 2, .inner = 16, .dropout = 0.3});
    auto optimizer = make_training_optimizer("muon", model);
    TrainerOptions options;
    options.batch_size = 64;
    options.max_steps = 12;
    options.eval_every = 6;
    options.seed = 5;
    options.audit.enabled = audited;
    options.audit.every = 4;
    options.audit.path = path;
    return train(model, *optimizer, data, options);
  };
  const TrainResult plain = run(false);
  const TrainResult audited = run(true);
  ASSERT_EQ(audited.curve.size(), plain.curve.size());
  for (std::size_t i = 0; i < plain.curve.size(); ++i) {
    EXPECT_EQ(audited.curve[i].train_loss, plain.curve[i].train_loss) << "evaluation " << i;
    EXPECT_EQ(audited.curve[i].valid.ndcg(10), plain.curve[i].valid.ndcg(10)) << "evaluation " << i;
  }
  ASSERT_EQ(audited.audit.size(), 3u);  // steps 0, 4 and 8
  for (const AuditPoint& point : audited.audit) {
    EXPECT_GT(point.model.update_norm, 0.0);
    EXPECT_TRUE(std::isfinite(point.model.sharpness)) << "step " << point.step;
  }
  EXPECT_GT(audited.audit_seconds_per_step, 0.0);
  std::ifstream lines(path);
  int records = 0;
  for (std::string line; std::getline(lines, line);) records += line.find("\"step\"") != std::string::npos;
  EXPECT_GT(records, 3);  // one per parameter and one for the model, per audited step
  std::filesystem::remove(path);
}

TEST(Training, MuonMvrStepsThroughTheLossClosure) {
  const datasets::SequenceDataset data = small_synthetic();
  auto run = [&](const std::string& optimizer_name) {
    manual_seed(9);
    SASRec model(data.num_items, SASRecOptions{.hidden = 16, .layers = 1, .heads = 2, .inner = 16, .dropout = 0.3});
    auto optimizer = make_training_optimizer(optimizer_name, model);
    TrainerOptions options;
    options.batch_size = 64;
    options.max_steps = 8;
    options.eval_every = 4;
    options.seed = 9;
    return train(model, *optimizer, data, options);
  };
  const TrainResult mvr = run("mvr"), again = run("mvr"), muon = run("muon");
  ASSERT_EQ(mvr.curve.size(), 2u);
  EXPECT_TRUE(std::isfinite(mvr.curve.back().train_loss));
  EXPECT_EQ(mvr.curve.back().train_loss, again.curve.back().train_loss);  // reproducible
  // the first step is Muon's; from the second on the variance-reduced momentum differs
  EXPECT_NE(mvr.curve.back().train_loss, muon.curve.back().train_loss);
}

namespace {

/// A tiny model whose loss is finite while one gradient is NaN: scores read the last item's embedding plus
/// 0 * sqrt(w) with w = 0, and d sqrt(w)/dw at 0 is infinite (0 * inf = NaN).
class NanGradientModel : public SequentialRecommender {
 public:
  explicit NanGradientModel(std::int64_t items) {
    num_items = items;
    table = register_module("table", std::make_shared<nn::Embedding>(items + 1, 4, 0));
    w = register_parameter("w", zeros({1}));
  }
  Tensor score_all(const SequenceBatch& batch) const override {
    const Tensor u = add(select(table->forward(batch.history), 1, batch.history.size(1) - 1), mul(sqrt(w), 0.0));
    return matmul(u, transpose(narrow(table->weight, 0, 1, num_items), 0, 1));
  }
  Tensor score_items(const SequenceBatch& batch, const Tensor& items) const override {
    return gather(score_all(batch), 1, sub(items, scalar_tensor(1.0, {DType::i64})));
  }
  std::string name() const override { return "NanGradient"; }
  std::string describe() const override { return "NanGradient"; }
  std::int64_t history_length() const override { return 3; }

  std::shared_ptr<nn::Embedding> table;
  Tensor w;
};

}  // namespace

TEST(Training, NegativesAreNeverTheTarget) {
  Generator generator(11);
  // two items: the only negative of item 1 is item 2 and the other way round
  const Tensor pairs = sample_negatives(from_vector<std::int64_t>({1, 2, 1}, {3}), 50, 2, &generator);
  const std::vector<std::int64_t> values = pairs.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], i / 50 == 1 ? 1 : 2) << i;
  // five items: never the target, every other item drawn about equally often
  std::vector<std::int64_t> targets;
  for (int r = 0; r < 400; ++r) targets.push_back(1 + r % 5);
  const Tensor negatives = sample_negatives(from_vector(targets, {400}), 10, 5, &generator);
  const std::vector<std::int64_t> drawn = negatives.to_vector<std::int64_t>();
  std::vector<int> counts(6, 0);
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    ASSERT_GE(drawn[i], 1);
    ASSERT_LE(drawn[i], 5);
    ASSERT_NE(drawn[i], targets[i / 10]) << "row " << i / 10;
    ++counts[static_cast<std::size_t>(drawn[i])];
  }
  for (int item = 1; item <= 5; ++item) EXPECT_NEAR(counts[item], 800, 120) << "item " << item;
}

TEST(Training, TheStepsAfterTheLastEvaluationAreEvaluated) {
  const datasets::SequenceDataset data = small_synthetic();
  manual_seed(0);
  SASRec model(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  auto optimizer = make_training_optimizer("adamw", model);
  TrainerOptions options;
  options.batch_size = 64;
  options.max_epochs = 1;
  options.eval_every = 7;
  options.patience = 100;
  const TrainResult result = train(model, *optimizer, data, options);
  ASSERT_NE(result.steps % 7, 0) << "pick an eval_every that does not divide the epoch";
  ASSERT_FALSE(result.curve.empty());
  EXPECT_EQ(result.curve.back().step, result.steps);
  EXPECT_EQ(result.curve.size(), static_cast<std::size_t>(result.steps / 7 + 1));
}

TEST(Training, ANonFiniteGradientStopsEveryOptimizerAtItsStep) {
  const datasets::SequenceDataset data = small_synthetic();
  for (const std::string name : {"adamw", "lion", "muon"}) {
    SCOPED_TRACE(name);
    manual_seed(0);
    NanGradientModel model(data.num_items);
    auto optimizer = make_training_optimizer(name, model);
    TrainerOptions options;
    options.max_steps = 3;
    expect_error([&] { train(model, *optimizer, data, options); }, {"non-finite", "at step 0", "NanGradient", name});
  }
}

TEST(Training, ResumingUnderAnotherConfigurationIsRefusedNamingTheFields) {
  const datasets::SequenceDataset data = small_synthetic();
  const std::string path = ::testing::TempDir() + "/recgrad_config_run.safetensors";
  std::filesystem::remove(path);
  TrainerOptions options;
  options.batch_size = 64;
  options.max_steps = 4;
  options.eval_every = 2;
  options.checkpoint_path = path;
  const auto run = [&](const TrainerOptions& o, const OptimizerOverrides& overrides) {
    manual_seed(0);
    SASRec model(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
    auto optimizer = make_training_optimizer("adamw", model, overrides);
    return train(model, *optimizer, data, o);
  };
  run(options, {});
  TrainerOptions other_batch = options;
  other_batch.batch_size = 32;
  expect_error([&] { run(other_batch, {}); }, {"resume", "another configuration", "batch_size", "'64'", "'32'"});
  OptimizerOverrides other_lr;
  other_lr.lr = 0.5;
  expect_error([&] { run(options, other_lr); }, {"resume", "optimizer"});
  TrainerOptions other_loss = options;
  other_loss.loss = LossKind::sampled_bce;
  expect_error([&] { run(other_loss, {}); }, {"loss", "full_softmax", "sampled_bce"});
  TrainerOptions other_protocol = options;
  other_protocol.extra_configuration["protocol"] = "tuned";
  expect_error([&] { run(other_protocol, {}); }, {"extra.protocol"});
  std::filesystem::remove(path);
}

TEST(Training, AFinishedRunResumesToItsStoredResultWithoutTraining) {
  const datasets::SequenceDataset data = small_synthetic();
  const std::string path = ::testing::TempDir() + "/recgrad_finished_run.safetensors";
  std::filesystem::remove(path);
  TrainerOptions options;
  options.batch_size = 64;
  options.max_steps = 6;
  options.eval_every = 3;
  options.checkpoint_path = path;
  const auto run = [&](std::int64_t* steps_taken) {
    manual_seed(0);
    SASRec model(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
    auto optimizer = make_training_optimizer("adamw", model);
    return train(model, *optimizer, data, options, [&](const TrainProgress& p) {
      if (!p.evaluated) ++*steps_taken;
    });
  };
  std::int64_t first_steps = 0, second_steps = 0;
  const TrainResult first = run(&first_steps);
  const TrainResult again = run(&second_steps);
  EXPECT_EQ(first_steps, 6);
  EXPECT_EQ(second_steps, 0) << "a finished run trains no further";
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(again.steps, first.steps);
  EXPECT_EQ(again.best_step, first.best_step);
  EXPECT_EQ(again.stop_reason, first.stop_reason);
  EXPECT_EQ(again.curve.size(), first.curve.size());
  EXPECT_EQ(again.test.ndcg(10), first.test.ndcg(10));
  EXPECT_EQ(again.test.recall(20), first.test.recall(20));
  std::filesystem::remove(path);
}

// kill -9 between a run's last evaluation (whose checkpoint is on disk) and its final save: the resumed run
// stops where the uninterrupted one stopped, by the same rule, and trains no further step
TEST(Training, ARunInterruptedAtItsStopResumesToTheSameResult) {
  const datasets::SequenceDataset data = small_synthetic();
  const std::string dir = ::testing::TempDir() + "/recgrad_interrupted_at_stop";
  for (const std::int64_t patience : {100, 1}) {  // stopped by max_epochs, then by patience
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    TrainerOptions options;
    options.batch_size = 64;
    options.max_epochs = patience == 1 ? 40 : 2;
    options.patience = patience;
    const auto run = [&](const std::string& checkpoint, std::int64_t throw_at_step, std::int64_t* steps_taken) {
      manual_seed(0);
      SASRec model(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
      auto optimizer = make_training_optimizer("adamw", model);
      TrainerOptions o = options;
      o.checkpoint_path = checkpoint;
      return train(model, *optimizer, data, o, [&](const TrainProgress& p) {
        if (!p.evaluated) ++*steps_taken;
        if (p.evaluated && p.step == throw_at_step) throw std::runtime_error("interrupted");
      });
    };
    std::int64_t whole_steps = 0, first_steps = 0, resumed_steps = 0;
    const TrainResult whole = run(dir + "/whole.safetensors", -1, &whole_steps);
    ASSERT_EQ(whole.stop_reason, patience == 1 ? "patience" : "max_epochs");
    EXPECT_THROW(run(dir + "/split.safetensors", whole.steps, &first_steps), std::runtime_error);
    EXPECT_EQ(first_steps, whole.steps);
    const TrainResult resumed = run(dir + "/split.safetensors", -1, &resumed_steps);
    EXPECT_TRUE(resumed.resumed);
    EXPECT_EQ(resumed_steps, 0) << "stop " << whole.stop_reason << ": the resumed run trains no further";
    EXPECT_EQ(resumed.stop_reason, whole.stop_reason);
    EXPECT_EQ(resumed.steps, whole.steps);
    EXPECT_EQ(resumed.epochs, whole.epochs);
    EXPECT_EQ(resumed.curve.size(), whole.curve.size());
    EXPECT_EQ(resumed.best_step, whole.best_step);
    EXPECT_EQ(resumed.test.ndcg(10), whole.test.ndcg(10));
    EXPECT_EQ(resumed.test.recall(20), whole.test.recall(20));
  }
  std::filesystem::remove_all(dir);
}

TEST(Training, SpreadRowsIsAFixedEvenlySpreadSubset) {
  datasets::Split split;
  for (datasets::ItemId i = 1; i <= 10; ++i) {
    const std::vector<datasets::ItemId> history(static_cast<std::size_t>(i), i);
    split.add_row(i, history, i + 100);
  }
  const datasets::Split four = spread_rows(split, 4);  // rows 0, 2, 5, 7
  EXPECT_EQ(four.targets, (std::vector<datasets::ItemId>{101, 103, 106, 108}));
  EXPECT_EQ(four.users, (std::vector<datasets::UserId>{1, 3, 6, 8}));
  ASSERT_EQ(four.size(), 4u);
  EXPECT_EQ(std::vector<datasets::ItemId>(four.history(2).begin(), four.history(2).end()),
            std::vector<datasets::ItemId>(6, 6));
  EXPECT_EQ(spread_rows(split, 0).targets, split.targets);
  EXPECT_EQ(spread_rows(split, 10).targets, split.targets);
  EXPECT_EQ(spread_rows(split, 25).targets, split.targets);
}

namespace {
// SASRec that asks the trainer to validate on 7 rows only (what MiniOneRec's valid_rows does)
class SASRecOnSevenValidationRows : public SASRec {
 public:
  using SASRec::SASRec;
  std::int64_t validation_rows() const override { return 7; }
};
}  // namespace

TEST(Training, ValidationReadsTheModelsSubsetAndRecordsItsLoss) {
  const datasets::SequenceDataset data = small_synthetic();
  TrainerOptions options;
  options.batch_size = 64;
  options.max_steps = 4;
  options.eval_every = 4;
  options.valid_loss = true;
  manual_seed(0);
  SASRecOnSevenValidationRows model(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  auto optimizer = make_training_optimizer("adamw", model);
  const TrainResult result = train(model, *optimizer, data, options);
  ASSERT_EQ(result.curve.size(), 1u);
  EXPECT_EQ(result.curve[0].valid.rows, 7);
  EXPECT_EQ(result.best_valid.rows, 7);
  EXPECT_EQ(result.test.rows, static_cast<std::int64_t>(data.test.size())) << "the test reads every row";
  // the one evaluation's weights are the restored best: its recorded loss is theirs on the same 7 rows
  const datasets::Split seven = spread_rows(data.valid, 7);
  EXPECT_GT(result.curve[0].valid_loss, 0.0);
  EXPECT_DOUBLE_EQ(result.curve[0].valid_loss, mean_loss(model, seven, options));
  EXPECT_EQ(result.curve[0].valid.ndcg(10), evaluate(model, seven, options).ndcg(10));
  options.valid_loss = false;
  manual_seed(0);
  SASRecOnSevenValidationRows again(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
  auto optimizer_again = make_training_optimizer("adamw", again);
  EXPECT_EQ(train(again, *optimizer_again, data, options).curve[0].valid_loss, -1.0) << "not recorded unless asked";
}

TEST(Training, TheAuditLogAppendsOnResume) {
  const datasets::SequenceDataset data = small_synthetic();
  const std::string dir = ::testing::TempDir() + "/recgrad_audit_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto run = [&](std::int64_t max_steps) {
    manual_seed(1);
    SASRec model(data.num_items, SASRecOptions{.hidden = 8, .layers = 1, .heads = 1, .inner = 8});
    auto optimizer = make_training_optimizer("muon", model);
    TrainerOptions options;
    options.batch_size = 64;
    options.max_steps = max_steps;
    options.eval_every = 4;
    options.patience = 100;
    options.checkpoint_path = dir + "/run.safetensors";
    options.audit.enabled = true;
    options.audit.every = 2;
    options.audit.curvature = false;
    options.audit.path = dir + "/audit.jsonl";
    return train(model, *optimizer, data, options);
  };
  run(8);   // audited steps 0, 2, 4, 6
  run(12);  // resumed at step 8: appends 8 and 10
  std::ifstream in(dir + "/audit.jsonl");
  std::vector<std::int64_t> steps;
  for (std::string line; std::getline(in, line);) {
    const auto record = nlohmann::json::parse(line);
    if (record.at("record") == "model") steps.push_back(record.at("step").get<std::int64_t>());
  }
  EXPECT_EQ(steps, (std::vector<std::int64_t>{0, 2, 4, 6, 8, 10})) << "each audited step once, in order";
  std::filesystem::remove_all(dir);
}

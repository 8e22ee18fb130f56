// The Qwen2 decoder (nn/qwen2.h) and Hugging Face checkpoints (nn/qwen2_checkpoint.h), against the PyTorch
// reference of tests/fixtures/make_qwen2_fixtures.py: a sharded BF16 checkpoint with an untied head and a single-file
// F32 one with tied embeddings load with their configs, and their logits and every gradient match in f32 (1e-5);
// cached decoding equals full recomputation; a left-padded row equals the row run alone; save and load round-trip;
// growing the vocabulary starts the new rows at the mean; a checkpoint that does not match is refused, listing
// every difference.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "fixture_check.h"
#include "nn/qwen2.h"
#include "nn/qwen2_checkpoint.h"
#include "nn/safetensors.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::nn;
using recgrad::testing::expect_error;
using recgrad::testing::expect_matches_reference;
using recgrad::testing::load_fixture;

namespace fs = std::filesystem;

namespace {

std::string checkpoint(const std::string& name) { return std::string(RECGRAD_TEST_DATA_DIR) + "/nn/" + name; }

/// A fresh scratch folder under the system temp dir.
fs::path scratch(const std::string& name) {
  const fs::path path = fs::temp_directory_path() / ("recgrad_qwen2_" + name);
  fs::remove_all(path);
  fs::create_directories(path);
  return path;
}

/// The causal logits of `tokens` with their padding mask.
Tensor logits_of(const Qwen2ForCausalLM& model, const Tensor& tokens, const Tensor& padding) {
  AttentionMasks masks;
  masks.key_padding_mask = padding;
  return model.forward(tokens, masks);
}

/// Loads checkpoint `folder`, checks its logits and every parameter's gradient against `reference`.
void check_against_reference(const std::string& folder, const std::string& reference) {
  SCOPED_TRACE(folder);
  const std::shared_ptr<Qwen2ForCausalLM> model = load_qwen2_checkpoint(checkpoint(folder));
  const StateDict fixture = load_fixture("nn", reference);
  const Tensor logits = logits_of(*model, fixture.at("in.tokens"), fixture.at("in.padding"));
  expect_matches_reference(logits, fixture.at("out"), "logits");
  sum(mul(logits, fixture.at("w"))).backward();
  int compared = 0;
  for (const auto& [name, param] : model->named_parameters()) {
    const Tensor* expected = fixture.find("grad.param." + name);
    ASSERT_NE(expected, nullptr) << "the reference has no gradient for " << name;
    ASSERT_TRUE(param.grad().defined()) << name;
    expect_matches_reference(param.grad(), *expected, "gradient of " + name);
    ++compared;
  }
  int expected_count = 0;
  for (const auto& [key, tensor] : fixture) expected_count += key.rfind("grad.param.", 0) == 0 ? 1 : 0;
  EXPECT_EQ(compared, expected_count);
}

/// Writes `tensors` as a single-file checkpoint with the tiny untied config into a scratch folder.
fs::path write_checkpoint(const std::string& name, const StateDict& tensors) {
  const fs::path folder = scratch(name);
  fs::copy_file(checkpoint("tiny_qwen2") + "/config.json", folder / "config.json");
  save_safetensors((folder / "model.safetensors").string(), tensors);
  return folder;
}

/// The tiny untied checkpoint's tensors, with `edit` applied.
StateDict edited_weights(const std::function<void(std::vector<std::pair<std::string, Tensor>>&)>& edit) {
  const std::shared_ptr<Qwen2ForCausalLM> model = load_qwen2_checkpoint(checkpoint("tiny_qwen2"));
  std::vector<std::pair<std::string, Tensor>> entries;
  for (const auto& [name, param] : model->named_parameters()) entries.emplace_back(name, param.detach());
  edit(entries);
  StateDict tensors;
  for (const auto& [name, tensor] : entries) tensors.insert(name, tensor);
  return tensors;
}

}  // namespace

TEST(Qwen2Checkpoint, ShardedBf16UntiedMatchesTorch) { check_against_reference("tiny_qwen2", "qwen2_reference"); }

TEST(Qwen2Checkpoint, TiedF32MatchesTorch) { check_against_reference("tiny_qwen2_tied", "qwen2_tied_reference"); }

TEST(Qwen2Checkpoint, ConfigIsHonoured) {
  const std::shared_ptr<Qwen2ForCausalLM> untied = load_qwen2_checkpoint(checkpoint("tiny_qwen2"));
  EXPECT_EQ(untied->config.vocab_size, 50);
  EXPECT_EQ(untied->config.hidden_size, 16);
  EXPECT_EQ(untied->config.num_hidden_layers, 2);
  EXPECT_EQ(untied->config.num_attention_heads, 4);
  EXPECT_EQ(untied->config.num_key_value_heads, 2);
  EXPECT_EQ(untied->config.intermediate_size, 24);
  EXPECT_EQ(untied->config.rope_theta, 1e6);
  EXPECT_FALSE(untied->config.tie_word_embeddings);
  EXPECT_NE(untied->lm_head, nullptr);
  const std::shared_ptr<Qwen2ForCausalLM> tied = load_qwen2_checkpoint(checkpoint("tiny_qwen2_tied"));
  EXPECT_TRUE(tied->config.tie_word_embeddings);
  EXPECT_EQ(tied->lm_head, nullptr);
  EXPECT_EQ(tied->config.rope_theta, 1e4);
}

// Decoding token by token with the KV caches gives the logits of the full causal pass, position by position.
TEST(Qwen2, CachedDecodingEqualsFullRecomputation) {
  NoGradGuard no_grad;
  const std::shared_ptr<Qwen2ForCausalLM> model = load_qwen2_checkpoint(checkpoint("tiny_qwen2"));
  const StateDict fixture = load_fixture("nn", "qwen2_reference");
  const Tensor tokens = fixture.at("in.tokens"), padding = fixture.at("in.padding");
  const Tensor full = logits_of(*model, tokens, padding);
  std::vector<KVCache> caches(2);
  const std::int64_t prefix = 3;
  AttentionMasks masks;
  masks.key_padding_mask = narrow(padding, 1, 0, prefix);
  Tensor cached = model->forward(narrow(tokens, 1, 0, prefix), masks, &caches);
  for (std::int64_t t = prefix; t < tokens.size(1); ++t) {
    masks.key_padding_mask = narrow(padding, 1, 0, t + 1);
    cached = cat({cached, model->forward(narrow(tokens, 1, t, 1), masks, &caches)}, 1);
  }
  recgrad::testing::expect_matches_reference(cached, raw::to_dtype(full, DType::f64), "cached logits");
}

// A left-padded row of a batch equals the same tokens run alone (RoPE depends on distances only).
TEST(Qwen2, LeftPaddedRowEqualsTheRowAlone) {
  NoGradGuard no_grad;
  const std::shared_ptr<Qwen2ForCausalLM> model = load_qwen2_checkpoint(checkpoint("tiny_qwen2"));
  const StateDict fixture = load_fixture("nn", "qwen2_reference");
  const Tensor batch = logits_of(*model, fixture.at("in.tokens"), fixture.at("in.padding"));
  const Tensor alone = model->forward(from_vector<std::int64_t>({7, 12, 30, 49}, {1, 4}));
  recgrad::testing::expect_matches_reference(narrow(narrow(batch, 0, 1, 1), 1, 2, 4), raw::to_dtype(alone, DType::f64),
                                             "padded row");
}

TEST(Qwen2Checkpoint, SaveAndLoadRoundTrip) {
  for (const std::string name : {"tiny_qwen2", "tiny_qwen2_tied"}) {
    const std::shared_ptr<Qwen2ForCausalLM> model = load_qwen2_checkpoint(checkpoint(name));
    const fs::path folder = scratch("round_trip");
    save_qwen2_checkpoint(*model, folder.string());
    const std::shared_ptr<Qwen2ForCausalLM> again = load_qwen2_checkpoint(folder.string());
    EXPECT_EQ(again->config.tie_word_embeddings, model->config.tie_word_embeddings);
    EXPECT_EQ(again->config.rope_theta, model->config.rope_theta);
    const auto a = model->named_parameters(), b = again->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].first, b[i].first);
      EXPECT_EQ(a[i].second.to_vector<float>(), b[i].second.to_vector<float>()) << a[i].first;
    }
  }
}

// New vocabulary rows start at the mean of the old rows (embeddings and untied head); the old rows and the logits
// of the old tokens over the old vocabulary do not change.
TEST(Qwen2, ResizeVocabularyStartsNewRowsAtTheMean) {
  NoGradGuard no_grad;
  for (const std::string name : {"tiny_qwen2", "tiny_qwen2_tied"}) {
    SCOPED_TRACE(name);
    const std::shared_ptr<Qwen2ForCausalLM> model = load_qwen2_checkpoint(checkpoint(name));
    const Tensor tokens = from_vector<std::int64_t>({5, 17, 3}, {1, 3});
    const std::vector<float> before = model->forward(tokens).to_vector<float>();
    const std::vector<float> old_embeddings = model->model->embed_tokens->weight.to_vector<float>();
    model->resize_vocabulary(53);
    EXPECT_EQ(model->config.vocab_size, 53);
    const Tensor& table = model->model->embed_tokens->weight;
    ASSERT_EQ(table.shape(), (Shape{53, 16}));
    EXPECT_TRUE(table.requires_grad());
    const std::vector<float> rows = table.to_vector<float>();
    EXPECT_EQ(std::vector<float>(rows.begin(), rows.begin() + 50 * 16), old_embeddings);
    for (std::int64_t c = 0; c < 16; ++c) {
      double mean = 0;
      for (std::int64_t r = 0; r < 50; ++r) mean += old_embeddings[static_cast<std::size_t>(r * 16 + c)] / 50.0;
      for (std::int64_t r = 50; r < 53; ++r) EXPECT_NEAR(rows[static_cast<std::size_t>(r * 16 + c)], mean, 1e-6);
    }
    if (model->lm_head) {
      EXPECT_EQ(model->lm_head->weight.shape(), (Shape{53, 16}));
    }
    const Tensor after = narrow(model->forward(tokens), 2, 0, 50);
    const std::vector<float> kept = raw::contiguous(after).to_vector<float>();
    ASSERT_EQ(kept.size(), before.size());
    for (std::size_t i = 0; i < kept.size(); ++i) EXPECT_FLOAT_EQ(kept[i], before[i]);
    expect_error([&] { model->resize_vocabulary(40); }, {"cannot shrink the vocabulary from 53 to 40"});
    expect_error([&] { model->resize_vocabulary(60, 54); }, {"kept_rows 54 must be in [1, 53]"});
    // Keeping fewer rows than the table has restarts the rows beyond them (padding rows taken over) at the mean
    // of the kept ones, in one write.
    model->resize_vocabulary(56, /*kept_rows=*/45);
    const std::vector<float> regrown = model->model->embed_tokens->weight.to_vector<float>();
    ASSERT_EQ(regrown.size(), static_cast<std::size_t>(56 * 16));
    EXPECT_EQ(std::vector<float>(regrown.begin(), regrown.begin() + 45 * 16),
              std::vector<float>(rows.begin(), rows.begin() + 45 * 16));
    for (std::int64_t c = 0; c < 16; ++c) {
      double mean = 0;
      for (std::int64_t r = 0; r < 45; ++r) mean += rows[static_cast<std::size_t>(r * 16 + c)] / 45.0;
      for (std::int64_t r = 45; r < 56; ++r) EXPECT_NEAR(regrown[static_cast<std::size_t>(r * 16 + c)], mean, 1e-6);
    }
    if (model->lm_head) {
      EXPECT_EQ(model->lm_head->weight.shape(), (Shape{56, 16}));
    }
  }
}

TEST(Qwen2Checkpoint, MismatchesAreListed) {
  // One tensor missing, one extra, one of the wrong shape: all three named in one error.
  const StateDict bad = edited_weights([](auto& entries) {
    entries.erase(entries.begin() + 3);  // some layer-0 tensor
    entries.emplace_back("model.layers.9.mlp.up_proj.weight", zeros({24, 16}));
    for (auto& [name, tensor] : entries) {
      if (name == "model.norm.weight") tensor = zeros({15});
    }
  });
  const fs::path folder = write_checkpoint("bad_tensors", bad);
  expect_error([&] { load_qwen2_checkpoint(folder.string()); },
               {"the weights do not match the model of config.json (3 differences)", "missing model.layers.0.",
                "unexpected model.layers.9.mlp.up_proj.weight [24, 16]",
                "model.norm.weight has shape [15], the config needs [16]"});
  // An integer tensor where a weight belongs.
  const StateDict integer = edited_weights([](auto& entries) {
    for (auto& [name, tensor] : entries) {
      if (name == "model.norm.weight") tensor = zeros({16}, {.dtype = DType::i64});
    }
  });
  const fs::path folder2 = write_checkpoint("bad_dtype", integer);
  expect_error([&] { load_qwen2_checkpoint(folder2.string()); },
               {"model.norm.weight has dtype i64 (F32, F64 or BF16 expected)"});
}

TEST(Qwen2Checkpoint, BadConfigAndLayoutAreRefused) {
  const fs::path folder = scratch("bad_config");
  expect_error([&] { load_qwen2_checkpoint(folder.string()); }, {"no config.json"});
  std::ofstream(folder / "config.json") << "{\"model_type\": \"qwen2\", \"hidden_size\": 16}";
  expect_error([&] { load_qwen2_checkpoint(folder.string()); }, {"config.json: the field \"vocab_size\" is missing"});
  std::ofstream(folder / "config.json") << "{\"model_type\": \"llama\"}";
  expect_error([&] { load_qwen2_checkpoint(folder.string()); }, {"model_type is \"llama\""});
  std::ofstream(folder / "config.json") << "{not json";
  expect_error([&] { load_qwen2_checkpoint(folder.string()); }, {"config.json: not valid JSON"});
  fs::copy_file(checkpoint("tiny_qwen2") + "/config.json", folder / "config.json",
                fs::copy_options::overwrite_existing);
  expect_error([&] { load_qwen2_checkpoint(folder.string()); },
               {"no model.safetensors and no model.safetensors.index.json"});
  std::ofstream(folder / "config.json") << "{\"vocab_size\": 50, \"hidden_size\": 16, \"num_hidden_layers\": 2, "
                                           "\"num_attention_heads\": 3, \"num_key_value_heads\": 1, "
                                           "\"intermediate_size\": 24}";
  expect_error([&] { load_qwen2_checkpoint(folder.string()); },
               {"num_attention_heads (3) must divide hidden_size (16)"});
  // A shard map that names a tensor its shard does not hold.
  const fs::path sharded = scratch("bad_shards");
  for (const auto& entry : fs::directory_iterator(checkpoint("tiny_qwen2"))) {
    fs::copy_file(entry.path(), sharded / entry.path().filename());
  }
  std::ifstream in(sharded / "model.safetensors.index.json");
  std::string index((std::istreambuf_iterator<char>(in)), {});
  in.close();
  const std::string moved = "\"model.norm.weight\": \"model-00002-of-00002.safetensors\"";
  ASSERT_NE(index.find(moved), std::string::npos);
  index.replace(index.find(moved), moved.size(), "\"model.norm.weight\": \"model-00001-of-00002.safetensors\"");
  std::ofstream(sharded / "model.safetensors.index.json") << index;
  expect_error([&] { load_qwen2_checkpoint(sharded.string()); }, {"model.norm.weight"});
}

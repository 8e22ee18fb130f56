// MuonRec routing, presets and the hybrid optimizer on stand-ins of the three
// sequential recommenders (same parameter names and shapes as recsys/ will use).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/ops/copy.h"
#include "core/ops/view.h"
#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/gru.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/module_list.h"
#include "nn/transformer.h"
#include "optim/hybrid.h"
#include "optim/presets.h"
#include "optim/routing.h"
#include "test_support.h"

namespace recgrad {
namespace {

using testing::expect_error;

// SASRec: item and position embeddings, causal Transformer blocks, a final LayerNorm;
// scores are dot products with the item embedding (tied), so there is no output layer.
struct SASRecLike : nn::Module {
  SASRecLike(std::int64_t items = 40, std::int64_t d = 16, std::int64_t max_len = 8, std::int64_t blocks = 2) {
    register_module("item_emb", std::make_shared<nn::Embedding>(items + 1, d, 0));
    register_module("pos_emb", std::make_shared<nn::Embedding>(max_len, d));
    auto list = register_module("blocks", std::make_shared<nn::ModuleList>());
    for (std::int64_t b = 0; b < blocks; ++b) {
      list->push_back(
          std::make_shared<nn::TransformerEncoderLayer>(d, 2, d, 0.0, nn::FeedForwardActivation::relu, true));
    }
    register_module("last_layernorm", std::make_shared<nn::LayerNorm>(Shape{d}));
  }
};

// GRU4Rec: item embedding, a GRU, a linear output layer over the items.
struct GRU4RecLike : nn::Module {
  std::shared_ptr<nn::Embedding> item_emb;
  std::shared_ptr<nn::GRU> gru;
  std::shared_ptr<nn::Linear> output;
  GRU4RecLike(std::int64_t items = 30, std::int64_t d = 8, std::int64_t hidden = 6) {
    item_emb = register_module("item_emb", std::make_shared<nn::Embedding>(items + 1, d, 0));
    gru = register_module("gru", std::make_shared<nn::GRU>(d, hidden));
    output = register_module("output", std::make_shared<nn::Linear>(hidden, items + 1));
  }
  // Cross-entropy of the next item after sequences [T, B] (time first), from the last GRU state.
  Tensor loss(const Tensor& sequences, const Tensor& targets) const {
    const nn::GRUOutput out = gru->forward(item_emb->forward(sequences));
    const Tensor last = reshape(out.h_n, {out.h_n.size(1), out.h_n.size(2)});  // one layer: [B, H]
    return cross_entropy(output->forward(last), targets);
  }
};

// Caser (Tang & Wang 2018, layout of the reference code): user and item embeddings, a
// vertical conv [n_v, 1, L, 1], horizontal convs [n_h, 1, h, d] for h = 1..L, fc1, and the
// output layer W2 / b2 stored as embedding tables (one row per item).
struct CaserLike : nn::Module {
  static constexpr std::int64_t kUsers = 10, kItems = 25, kDim = 8, kLen = 3, kNv = 2, kNh = 4;
  CaserLike() {
    register_module("user_embeddings", std::make_shared<nn::Embedding>(kUsers, kDim));
    register_module("item_embeddings", std::make_shared<nn::Embedding>(kItems, kDim, 0));
    register_module("conv_v", std::make_shared<nn::Conv2d>(1, kNv, std::array<std::int64_t, 2>{kLen, 1}));
    auto conv_h = register_module("conv_h", std::make_shared<nn::ModuleList>());
    for (std::int64_t h = 1; h <= kLen; ++h) {
      conv_h->push_back(std::make_shared<nn::Conv2d>(1, kNh, std::array<std::int64_t, 2>{h, kDim}));
    }
    register_module("fc1", std::make_shared<nn::Linear>(kNv * kDim + kNh * kLen, kDim));
    register_module("W2", std::make_shared<nn::Embedding>(kItems, 2 * kDim));
    register_module("b2", std::make_shared<nn::Embedding>(kItems, 1));
  }
  // What only the model knows: W2/b2 are the output layer, the convs read the embedded sequence.
  static ParameterRoles roles() {
    return {{"W2.weight", ParameterRole::output_head},
            {"b2.weight", ParameterRole::bias},
            {"conv_v.weight", ParameterRole::input_layer},
            {"conv_h.*.weight", ParameterRole::input_layer}};
  }
};

// Every trainable parameter appears exactly once in the table, and the table holds nothing else.
void expect_complete(const nn::Module& model, const RoutingTable& table) {
  std::multiset<std::string> routed;
  std::set<const TensorImpl*> tensors;
  for (const RoutedParameter& row : table.rows) {
    routed.insert(row.name);
    EXPECT_TRUE(tensors.insert(row.param.impl_ptr().get()).second) << row.name << " routed twice";
  }
  const auto params = model.named_parameters();
  EXPECT_EQ(routed.size(), params.size());
  for (const auto& [name, param] : params) EXPECT_EQ(routed.count(name), 1u) << name;
  EXPECT_EQ(table.rows_for(OptimizerKind::muon).size() + table.rows_for(OptimizerKind::adamw).size(), params.size());
}

std::map<std::string, OptimizerKind> optimizers(const RoutingTable& table) {
  std::map<std::string, OptimizerKind> out;
  for (const RoutedParameter& row : table.rows) out[row.name] = row.optimizer;
  return out;
}

// Names whose optimizer differs between two routings of the same model.
std::set<std::string> differences(const RoutingTable& a, const RoutingTable& b) {
  std::set<std::string> out;
  const auto oa = optimizers(a), ob = optimizers(b);
  for (const auto& [name, kind] : oa) {
    if (ob.at(name) != kind) out.insert(name);
  }
  return out;
}

TEST(Routing, SASRecMuonrec) {
  SASRecLike model;
  const RoutingTable table = route_parameters(model, muonrec_preset().routing);
  expect_complete(model, table);
  for (const RoutedParameter& row : table.rows) {
    const bool matrix = row.param.dim() >= 2;
    const bool embedding = row.name == "item_emb.weight" || row.name == "pos_emb.weight";
    const OptimizerKind expected = matrix && !embedding ? OptimizerKind::muon : OptimizerKind::adamw;
    EXPECT_EQ(row.optimizer, expected) << row.name;
    EXPECT_DOUBLE_EQ(row.lr, expected == OptimizerKind::muon ? 0.02 : 1e-2) << row.name;
    EXPECT_DOUBLE_EQ(row.weight_decay, expected == OptimizerKind::muon ? 0.0 : 1e-5) << row.name;
  }
  EXPECT_EQ(table.at("item_emb.weight").role, ParameterRole::embedding);
  EXPECT_EQ(table.at("item_emb.weight").role_source, "module");
  EXPECT_EQ(table.at("blocks.1.self_attn.in_proj_weight").optimizer, OptimizerKind::muon);
  EXPECT_EQ(table.at("blocks.1.self_attn.in_proj_bias").role, ParameterRole::bias);
  EXPECT_EQ(table.at("blocks.0.norm1.weight").role, ParameterRole::norm);
  EXPECT_EQ(table.at("last_layernorm.bias").role, ParameterRole::bias);
  // 2 blocks x (in_proj, out_proj, linear1, linear2) matrices go to Muon.
  EXPECT_EQ(table.rows_for(OptimizerKind::muon).size(), 8u);
  // No output head and no conv: keller routes SASRec exactly as muonrec does.
  EXPECT_TRUE(differences(table, route_parameters(model, keller_preset().routing)).empty());
}

TEST(Routing, GRU4RecPresets) {
  GRU4RecLike model;
  const RoutingTable muonrec = route_parameters(model, muonrec_preset().routing);
  const RoutingTable keller = route_parameters(model, keller_preset().routing);
  expect_complete(model, muonrec);
  expect_complete(model, keller);
  const std::map<std::string, OptimizerKind> expected = {
      {"item_emb.weight", OptimizerKind::adamw}, {"gru.weight_ih_l0", OptimizerKind::muon},
      {"gru.weight_hh_l0", OptimizerKind::muon}, {"gru.bias_ih_l0", OptimizerKind::adamw},
      {"gru.bias_hh_l0", OptimizerKind::adamw},  {"output.weight", OptimizerKind::muon},
      {"output.bias", OptimizerKind::adamw}};
  EXPECT_EQ(optimizers(muonrec), expected);
  EXPECT_EQ(muonrec.at("output.weight").role, ParameterRole::output_head);
  EXPECT_EQ(muonrec.at("gru.weight_hh_l0").blocks, 1);  // one matrix by default
  EXPECT_EQ(differences(muonrec, keller), (std::set<std::string>{"output.weight"}));
  EXPECT_DOUBLE_EQ(keller.at("output.weight").lr, 1e-2);

  const RoutingTable per_gate = route_parameters(model, muonrec_preset(true).routing);
  EXPECT_EQ(per_gate.at("gru.weight_ih_l0").blocks, 3);
  EXPECT_EQ(per_gate.at("gru.weight_hh_l0").blocks, 3);
  EXPECT_EQ(per_gate.at("output.weight").blocks, 1);
}

TEST(Routing, CaserDeclaredRolesAndPresets) {
  CaserLike model;
  const RoutingTable muonrec = route_parameters(model, muonrec_preset().routing, CaserLike::roles());
  const RoutingTable keller = route_parameters(model, keller_preset().routing, CaserLike::roles());
  expect_complete(model, muonrec);
  expect_complete(model, keller);
  EXPECT_EQ(muonrec.at("conv_v.weight").param.shape(), (Shape{CaserLike::kNv, 1, CaserLike::kLen, 1}));
  EXPECT_EQ(muonrec.at("conv_h.2.weight").param.shape(), (Shape{CaserLike::kNh, 1, 3, CaserLike::kDim}));
  const std::map<std::string, OptimizerKind> muon_expected = {{"user_embeddings.weight", OptimizerKind::adamw},
                                                              {"item_embeddings.weight", OptimizerKind::adamw},
                                                              {"conv_v.weight", OptimizerKind::muon},
                                                              {"conv_v.bias", OptimizerKind::adamw},
                                                              {"conv_h.0.weight", OptimizerKind::muon},
                                                              {"conv_h.0.bias", OptimizerKind::adamw},
                                                              {"conv_h.1.weight", OptimizerKind::muon},
                                                              {"conv_h.1.bias", OptimizerKind::adamw},
                                                              {"conv_h.2.weight", OptimizerKind::muon},
                                                              {"conv_h.2.bias", OptimizerKind::adamw},
                                                              {"fc1.weight", OptimizerKind::muon},
                                                              {"fc1.bias", OptimizerKind::adamw},
                                                              {"W2.weight", OptimizerKind::muon},
                                                              {"b2.weight", OptimizerKind::adamw}};
  EXPECT_EQ(optimizers(muonrec), muon_expected);
  EXPECT_EQ(muonrec.at("W2.weight").role_source, "declared");
  // keller: the output layer and every input conv move to AdamW, nothing else changes.
  EXPECT_EQ(differences(muonrec, keller), (std::set<std::string>{"W2.weight", "conv_v.weight", "conv_h.0.weight",
                                                                 "conv_h.1.weight", "conv_h.2.weight"}));
}

TEST(Routing, CaserWithoutDeclarationsFallsBackToModuleTypes) {
  CaserLike model;
  const RoutingTable table = route_parameters(model, muonrec_preset().routing);
  expect_complete(model, table);
  // Without declarations W2/b2 look like the embedding tables they are stored in, and only the
  // first conv registered counts as the input layer.
  EXPECT_EQ(table.at("W2.weight").role, ParameterRole::embedding);
  EXPECT_EQ(table.at("b2.weight").optimizer, OptimizerKind::adamw);
  EXPECT_EQ(table.at("conv_v.weight").role, ParameterRole::input_layer);
  EXPECT_EQ(table.at("conv_h.0.weight").role, ParameterRole::hidden);
  const RoutingTable keller = route_parameters(model, keller_preset().routing);
  EXPECT_EQ(differences(table, keller), (std::set<std::string>{"conv_v.weight"}));
}

TEST(Routing, NameFallbackForCustomModules) {
  EXPECT_EQ(role_from_name("item_embedding", {10, 4}), ParameterRole::embedding);
  EXPECT_EQ(role_from_name("lm_head.weight", {10, 4}), ParameterRole::output_head);
  EXPECT_EQ(role_from_name("mixer.kernel", {4, 4}), ParameterRole::hidden);
  EXPECT_EQ(role_from_name("mixer.bias", {4}), ParameterRole::bias);
  EXPECT_EQ(role_from_name("gain", {4}), ParameterRole::norm);

  struct Custom : nn::Module {
    Custom() {
      register_parameter("item_emb_table", zeros({12, 4}));
      register_parameter("proj", zeros({4, 4}));
      register_parameter("proj_bias", zeros({4}));
      register_parameter("frozen", zeros({4, 4}), false);
    }
  } model;
  const RoutingTable table = route_parameters(model, muonrec_preset().routing);
  ASSERT_EQ(table.rows.size(), 3u);  // the frozen tensor is not trainable
  EXPECT_EQ(table.at("item_emb_table").optimizer, OptimizerKind::adamw);
  EXPECT_EQ(table.at("proj").optimizer, OptimizerKind::muon);
  EXPECT_EQ(table.at("proj").role_source, "name");
  EXPECT_EQ(table.at("proj_bias").role, ParameterRole::bias);
}

TEST(Routing, PatternsAndOverrides) {
  EXPECT_TRUE(name_matches("blocks.*.linear1.weight", "blocks.12.linear1.weight"));
  EXPECT_TRUE(name_matches("*weight", "a.b.weight"));
  EXPECT_TRUE(name_matches("gru.weight_??_l0", "gru.weight_ih_l0"));
  EXPECT_FALSE(name_matches("blocks.?.linear1.weight", "blocks.12.linear1.weight"));
  EXPECT_FALSE(name_matches("*.bias", "bias"));
  EXPECT_TRUE(name_matches("re:blocks\\.[0-9]+\\.self_attn\\..*", "blocks.3.self_attn.out_proj.weight"));
  EXPECT_FALSE(name_matches("re:self_attn", "blocks.3.self_attn.out_proj.weight"));  // whole-name match
  expect_error([] { name_matches("re:([", "x"); }, {"malformed regex"});

  SASRecLike model;
  RoutingConfig config = muonrec_preset().routing;
  config.overrides.push_back({"blocks.*.linear?.weight", OptimizerKind::adamw, 3e-3, std::nullopt});
  config.overrides.push_back({"re:blocks\\.1\\.linear2\\.weight", std::nullopt, std::nullopt, 0.5});
  config.overrides.push_back({"pos_emb.weight", std::nullopt, 1e-4, std::nullopt});
  const RoutingTable table = route_parameters(model, config);
  expect_complete(model, table);
  EXPECT_EQ(table.at("blocks.0.linear1.weight").optimizer, OptimizerKind::adamw);
  EXPECT_DOUBLE_EQ(table.at("blocks.0.linear1.weight").lr, 3e-3);
  EXPECT_DOUBLE_EQ(table.at("blocks.0.linear1.weight").weight_decay, 1e-5);  // AdamW's default
  EXPECT_DOUBLE_EQ(table.at("blocks.1.linear2.weight").lr, 3e-3);            // both overrides apply
  EXPECT_DOUBLE_EQ(table.at("blocks.1.linear2.weight").weight_decay, 0.5);
  EXPECT_EQ(table.at("blocks.1.linear2.weight").override_pattern, "re:blocks\\.1\\.linear2\\.weight");
  EXPECT_EQ(table.at("pos_emb.weight").optimizer, OptimizerKind::adamw);
  EXPECT_DOUBLE_EQ(table.at("pos_emb.weight").lr, 1e-4);
  EXPECT_EQ(table.at("blocks.0.self_attn.in_proj_weight").optimizer, OptimizerKind::muon);

  RoutingConfig bad = muonrec_preset().routing;
  bad.overrides.push_back({"*.bias", OptimizerKind::muon, std::nullopt, std::nullopt});
  expect_error([&] { route_parameters(model, bad); }, {"is routed to Muon", "needs a matrix", "bias"});
  RoutingConfig typo = muonrec_preset().routing;
  typo.overrides.push_back({"blocks.*.linear3.weight", OptimizerKind::adamw, std::nullopt, std::nullopt});
  expect_error([&] { route_parameters(model, typo); }, {"linear3", "matches no parameter"});
  expect_error(
      [&] {
        route_parameters(model, muonrec_preset().routing, {{"W9.weight", ParameterRole::bias}});
      },
      {"W9.weight", "matches no trainable parameter"});
  expect_error([] { hybrid_preset("adam"); }, {"adam", "muonrec", "keller"});
  expect_error([] { parameter_role_from_string("head"); }, {"head", "output_head"});
  EXPECT_EQ(parameter_role_from_string("output_head"), ParameterRole::output_head);
}

TEST(Routing, TableAsTextAndJson) {
  GRU4RecLike model;
  const RoutingTable table = route_parameters(model, muonrec_preset(true).routing);
  const std::string text = table.to_text();
  for (const RoutedParameter& row : table.rows) EXPECT_NE(text.find(row.name), std::string::npos) << row.name;
  EXPECT_NE(text.find("routing (muonrec)"), std::string::npos);
  EXPECT_NE(text.find("Muon (3 blocks)"), std::string::npos);
  EXPECT_NE(text.find("[31, 6]"), std::string::npos);  // output.weight
  EXPECT_EQ(text.find(" \n"), std::string::npos);      // no trailing spaces
  const nlohmann::json json = nlohmann::json::parse(table.to_json());
  EXPECT_EQ(json["config"], "muonrec");
  ASSERT_EQ(json["parameters"].size(), table.rows.size());
  const nlohmann::json& first = json["parameters"][0];
  EXPECT_EQ(first["name"], "item_emb.weight");
  EXPECT_EQ(first["shape"], (std::vector<std::int64_t>{31, 8}));
  EXPECT_EQ(first["optimizer"], "AdamW");
  EXPECT_EQ(first["role"], "embedding");
  EXPECT_DOUBLE_EQ(first["lr"].get<double>(), 1e-2);
  EXPECT_EQ(json["parameters"][1]["blocks"], 3);
}

// ---- the hybrid optimizer ----

// Fills every parameter's gradient with seeded normal values.
void random_gradients(const nn::Module& model, std::uint64_t seed) {
  Generator generator(seed);
  for (const Tensor& p : model.parameters()) p.set_grad(randn(p.shape(), {p.dtype()}, &generator));
}

void copy_parameters(const nn::Module& from, const nn::Module& to) {
  const auto a = from.named_parameters(), b = to.named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    raw::copy_(b[i].second, a[i].second);
    if (a[i].second.grad().defined()) b[i].second.set_grad(raw::clone(a[i].second.grad()));
  }
}

void expect_same_values(const Tensor& a, const Tensor& b, const std::string& what, double tol = 0) {
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  ASSERT_EQ(va.size(), vb.size()) << what;
  for (std::size_t k = 0; k < va.size(); ++k) ASSERT_NEAR(va[k], vb[k], tol) << what << " [" << k << "]";
}

TEST(Hybrid, EqualsMuonAndAdamWBuiltByHand) {
  GRU4RecLike model, reference;
  const HybridPreset preset = muonrec_preset();
  HybridOptimizer hybrid(route_parameters(model, preset.routing), preset.muon, preset.adamw);
  ASSERT_NE(hybrid.muon(), nullptr);
  ASSERT_NE(hybrid.adamw(), nullptr);

  const auto ref = reference.named_parameters();
  std::map<std::string, Tensor> by_name(ref.begin(), ref.end());
  std::vector<Tensor> muon_params = {by_name["gru.weight_ih_l0"], by_name["gru.weight_hh_l0"],
                                     by_name["output.weight"]};
  std::vector<Tensor> adamw_params = {by_name["item_emb.weight"], by_name["gru.bias_ih_l0"], by_name["gru.bias_hh_l0"],
                                      by_name["output.bias"]};
  Muon muon(muon_params, preset.muon);
  AdamW adamw(adamw_params, preset.adamw);

  for (int step = 0; step < 3; ++step) {
    random_gradients(model, 100 + step);
    copy_parameters(model, reference);  // same weights and gradients (weights already equal after step 0)
    hybrid.step();
    muon.step();
    adamw.step();
    for (const auto& [name, param] : model.named_parameters()) expect_same_values(param, by_name[name], name);
  }
  // Each parameter is in exactly one of the two optimizers.
  std::size_t count = 0;
  for (std::size_t g = 0; g < hybrid.muon()->num_groups(); ++g) count += hybrid.muon()->group_params(g).size();
  for (const auto& group : hybrid.adamw()->param_groups()) count += group.params.size();
  EXPECT_EQ(count, model.named_parameters().size());
}

TEST(Hybrid, PerGateOrthogonalisesEachGateBlock) {
  GRU4RecLike model;
  const HybridPreset preset = muonrec_preset(/*gru_per_gate=*/true);
  MuonOptions muon_options = preset.muon;
  muon_options.keep_last_orthogonalized = true;
  HybridOptimizer hybrid(route_parameters(model, preset.routing), muon_options, preset.adamw);
  const Tensor w = model.named_parameters()[1].second;  // gru.weight_ih_l0 [18, 8]
  ASSERT_EQ(w.shape(), (Shape{18, 8}));

  // By hand: three separate [6, 8] matrices with the gradient's row blocks.
  random_gradients(model, 7);
  Tensor whole = raw::clone(w);  // and, for contrast, the [18, 8] matrix as one
  whole.set_grad(raw::clone(w.grad()));
  Muon whole_muon(std::vector<Tensor>{whole}, preset.muon);
  whole_muon.step();
  std::vector<Tensor> blocks;
  for (int b = 0; b < 3; ++b) {
    Tensor block = raw::clone(raw::slice(w, 0, 6 * b, 6 * (b + 1)));
    block.set_grad(raw::clone(raw::slice(w.grad(), 0, 6 * b, 6 * (b + 1))));
    blocks.push_back(block);
  }
  Muon by_hand(blocks, preset.muon);
  by_hand.step();
  hybrid.step();
  for (int b = 0; b < 3; ++b) {
    expect_same_values(raw::clone(raw::slice(w, 0, 6 * b, 6 * (b + 1))), blocks[b], "gate " + std::to_string(b));
  }
  // Not the same as one [18, 8] matrix (the blocks are orthogonalised separately).
  double largest_difference = 0;
  const auto per_gate = w.to_vector<double>(), as_one = whole.to_vector<double>();
  for (std::size_t k = 0; k < per_gate.size(); ++k) {
    largest_difference = std::max(largest_difference, std::abs(per_gate[k] - as_one[k]));
  }
  EXPECT_GT(largest_difference, 1e-3);
  const std::vector<Tensor> outputs = hybrid.last_orthogonalized(w);
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs[0].shape(), (Shape{6, 8}));
  // The state_dict names the gates.
  const OptimizerStateDict state = hybrid.state_dict();
  EXPECT_TRUE(state.tensors.count("muon.state.gru.weight_ih_l0[z].momentum_buffer"));
  EXPECT_TRUE(state.tensors.count("adamw.state.output.bias.exp_avg"));
}

TEST(Hybrid, StateDictRoundTripAndLrFactor) {
  CaserLike model, copy;
  copy_parameters(model, copy);
  const HybridPreset preset = keller_preset();
  HybridOptimizer a(route_parameters(model, preset.routing, CaserLike::roles()), preset.muon, preset.adamw);
  HybridOptimizer b(route_parameters(copy, preset.routing, CaserLike::roles()), preset.muon, preset.adamw);
  random_gradients(model, 1);
  a.step();
  b.load_state_dict(a.state_dict());  // b has taken no step; now it has a's state
  copy_parameters(model, copy);
  random_gradients(model, 2);
  copy_parameters(model, copy);
  a.set_lr_factor(0.5);
  b.set_lr_factor(0.5);
  EXPECT_DOUBLE_EQ(a.adamw()->param_groups()[0].options.lr, 0.5e-2);
  EXPECT_DOUBLE_EQ(a.muon()->lr(0), 0.01);
  a.step();
  b.step();
  const auto pa = model.named_parameters(), pb = copy.named_parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) expect_same_values(pa[i].second, pb[i].second, pa[i].first);

  OptimizerStateDict bad = a.state_dict();
  bad.scalars["adamw.param_groups.0.lr"] = -1;
  const OptimizerStateDict before = b.state_dict();
  expect_error([&] { b.load_state_dict(bad); }, {"AdamW", "lr"});
  EXPECT_EQ(b.state_dict().scalars, before.scalars);  // Muon's part was undone too
  bad = a.state_dict();
  bad.scalars["sgd.param_groups.0.lr"] = 1;
  expect_error([&] { b.load_state_dict(bad); }, {"unexpected scalar", "sgd.param_groups.0.lr"});

  const std::string text = a.describe();
  EXPECT_NE(text.find("routing (keller)"), std::string::npos);
  EXPECT_NE(text.find("Muon group 0"), std::string::npos);
  EXPECT_NE(text.find("AdamW group 0"), std::string::npos);
  EXPECT_EQ(a.audited_parameters().size(), model.named_parameters().size());
}

TEST(Hybrid, AuditOfAGRU4RecStep) {
  GRU4RecLike model;
  Generator generator(4);
  const Tensor sequences = randint(1, 31, {5, 4}, {DType::i64}, &generator);
  const Tensor targets = randint(1, 31, {4}, {DType::i64}, &generator);
  HybridPreset preset = muonrec_preset(/*gru_per_gate=*/true);
  preset.muon.keep_last_orthogonalized = true;
  HybridOptimizer hybrid(route_parameters(model, preset.routing), preset.muon, preset.adamw);
  const std::string path = ::testing::TempDir() + "audit_gru4rec.jsonl";
  AuditOptions options;
  options.enabled = true;
  options.every = 1;
  options.path = path;
  OptimizerAudit audit(hybrid.audited_parameters(), options);
  audit.set_orthogonalized_provider(hybrid.orthogonalized_provider());

  AuditStepReport report;
  for (std::int64_t step = 0; step < 2; ++step) {
    hybrid.zero_grad();
    model.loss(sequences, targets).backward();
    report = audit.step(
        step, [&] { hybrid.step(); }, [&] { return model.loss(sequences, targets); });
  }
  ASSERT_EQ(report.parameters.size(), model.named_parameters().size());
  for (const ParameterAudit& r : report.parameters) {
    const RoutedParameter& row = hybrid.table().at(r.name);
    EXPECT_EQ(r.optimizer, to_string(row.optimizer)) << r.name;
    EXPECT_GT(r.update_norm, 0) << r.name;
    EXPECT_TRUE(std::isfinite(r.uhu_share)) << r.name;
    EXPECT_EQ(std::isfinite(r.sharpness), r.shape.size() >= 2) << r.name;  // block curvature of the matrices
    // Newton-Schulz numbers exactly for the Muon parameters; the per-gate GRU blocks are [6, 8] and
    // the output layer [31, 6] is orthogonalised through its transpose.
    EXPECT_EQ(std::isfinite(r.ortho_error), row.optimizer == OptimizerKind::muon) << r.name;
    if (row.optimizer == OptimizerKind::muon) {
      EXPECT_EQ(hybrid.last_orthogonalized(row.param).size(), row.blocks);
    }
  }
  EXPECT_LT(report.model.gain, 0);                          // a descent direction on this batch
  EXPECT_EQ(report.model.gradient_evaluations, 2 + 2 * 4);  // the whole model, then the 4 matrices
  std::ifstream in(path);
  std::int64_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 2 * (static_cast<std::int64_t>(report.parameters.size()) + 1));
  std::remove(path.c_str());
}

TEST(Hybrid, ZeroGradClearsEveryParameter) {
  GRU4RecLike model;
  const HybridPreset preset = muonrec_preset(true);
  HybridOptimizer hybrid(route_parameters(model, preset.routing), preset.muon, preset.adamw);
  random_gradients(model, 3);
  hybrid.zero_grad();
  for (const auto& [name, param] : model.named_parameters()) EXPECT_FALSE(param.grad().defined()) << name;
}

}  // namespace
}  // namespace recgrad

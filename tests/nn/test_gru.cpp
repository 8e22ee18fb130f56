// GRU: the fused cell against the composed formula, gradchecks in f64 (cell, one layer's recurrence,
// the whole 2-layer GRU with left padding and h0), the guarantee that padded steps never change the
// state, torch.nn.GRU fixtures (tests/fixtures/make_gru_fixtures.py: plain, packed right-padded, and the
// same batch left-padded), PyTorch's parameter names and initialisation, dropout, and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "autograd/ops/gru_cell.h"
#include "core/ops/gru_cell.h"
#include "nn/gru.h"
#include "nn_test_util.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::nn;
using recgrad::testing::expect_all_close;
using recgrad::testing::expect_error;
using recgrad::testing::randn64;
using recgrad::testing::expect_gradcheck_all;

namespace {

// The four weights of each of `layers` layers, as leaves in the order weight_ih, weight_hh, bias_ih, bias_hh.
std::vector<GRULayerWeights> layer_weights(const std::vector<Tensor>& flat, std::size_t first) {
  std::vector<GRULayerWeights> layers;
  for (std::size_t i = first; i + 4 <= flat.size(); i += 4)
    layers.push_back({flat[i], flat[i + 1], flat[i + 2], flat[i + 3]});
  return layers;
}

// output and h_n flattened into one vector, so one gradcheck covers both.
Tensor joined(const GRUOutput& out) { return cat({reshape(out.output, {-1}), reshape(out.h_n, {-1})}); }

// A b8 tensor from 0/1 values.
Tensor mask_of(const std::vector<int>& values, const Shape& shape) {
  std::vector<bool> bits(values.begin(), values.end());
  return from_vector(bits, shape);
}

// The fixture's parameters ("param.*") as a state dict with PyTorch's names.
StateDict fixture_parameters(const StateDict& fixture) {
  StateDict params;
  for (const auto& [name, tensor] : fixture)
    if (name.rfind("param.", 0) == 0) params.insert(name.substr(6), tensor);
  return params;
}

StateDict load_fixture(const std::string& name) {
  return load_safetensors(std::string(RECGRAD_TEST_DATA_DIR) + "/nn/" + name + ".safetensors");
}

// Forward + backward of L = sum(output * w_out) + sum(h_n * w_h) with the fixture's module and
// inputs (x and h0 given, mask optional); compares outputs and every gradient with the fixture's.
void check_against_fixture(const StateDict& fixture, const Tensor& x_in, const Tensor& mask, const Tensor& w_out,
                           const Tensor& expected_output, const Tensor& expected_grad_x, const std::string& what) {
  GRU gru(5, 6, {.num_layers = 2, .batch_first = true});
  gru.load_state_dict(fixture_parameters(fixture));
  Tensor x = clone(x_in).requires_grad_();
  Tensor h0 = clone(fixture.at("h0")).requires_grad_();
  const GRUOutput out = gru(x, h0, mask);
  expect_all_close(expected_output, out.output, what + ": output");
  expect_all_close(fixture.at("out.h_n"), out.h_n, what + ": h_n");
  add(sum(mul(out.output, w_out)), sum(mul(out.h_n, fixture.at("w_h")))).backward();
  expect_all_close(expected_grad_x, x.grad(), what + ": grad x");
  expect_all_close(fixture.at("grad.h0"), h0.grad(), what + ": grad h0");
  for (const auto& [name, param] : gru.named_parameters())
    expect_all_close(fixture.at("grad." + name), param.grad(), what + ": grad " + name);
}

// Moves each row's first lengths[b] steps to the end (right padding -> left padding) and fills the
// freed steps with `fill` (a tensor of x's shape) or zeros.
Tensor shift_left_padded(const Tensor& x, const std::vector<std::int64_t>& lengths, const Tensor& fill = Tensor()) {
  const std::int64_t batch = x.size(0), steps = x.size(1), width = x.size(2);
  std::vector<float> in = x.to_vector<float>();
  std::vector<float> out = fill.defined() ? fill.to_vector<float>() : std::vector<float>(in.size(), 0.0f);
  for (std::int64_t b = 0; b < batch; ++b) {
    const std::int64_t shift = steps - lengths[b];
    for (std::int64_t t = 0; t < lengths[b]; ++t)
      for (std::int64_t j = 0; j < width; ++j)
        out[(b * steps + t + shift) * width + j] = in[(b * steps + t) * width + j];
  }
  return from_vector(out, x.shape());
}

}  // namespace

// ---- the fused cell ----

TEST(GruCell, MatchesTheComposedFormula) {
  const std::int64_t B = 3, H = 4;
  const Tensor gi = randn64({B, 3 * H}, 1), gh = randn64({B, 3 * H}, 2), h = randn64({B, H}, 3);
  const Tensor mask = mask_of({1, 0, 1}, {B});
  const Tensor r = sigmoid(add(narrow(gi, 1, 0, H), narrow(gh, 1, 0, H)));
  const Tensor z = sigmoid(add(narrow(gi, 1, H, H), narrow(gh, 1, H, H)));
  const Tensor n = tanh(add(narrow(gi, 1, 2 * H, H), mul(r, narrow(gh, 1, 2 * H, H))));
  const Tensor stepped = add(mul(rsub(z, 1.0), n), mul(z, h));
  const Tensor expected = where(unsqueeze(mask, 1), stepped, h);
  expect_all_close(expected, gru_cell(gi, gh, h, mask), "gru_cell", 1e-12, 1e-12);
  expect_all_close(stepped, gru_cell(gi, gh, h), "gru_cell without mask", 1e-12, 1e-12);
  // f32 uses the vectorised sigmoid/tanh: a few ulp from the f64 result.
  expect_all_close(
      expected,
      to_dtype(gru_cell(to_dtype(gi, DType::f32), to_dtype(gh, DType::f32), to_dtype(h, DType::f32), mask), DType::f64),
      "gru_cell f32", 1e-5, 1e-6);
}

TEST(GruCell, GradcheckF64) {
  const std::int64_t B = 3, H = 4;
  const Tensor mask = mask_of({1, 0, 1}, {B});
  expect_gradcheck_all([&](const std::vector<Tensor>& in) { return gru_cell(in[0], in[1], in[2], mask); },
                       {randn64({B, 3 * H}, 1), randn64({B, 3 * H}, 2), randn64({B, H}, 3)});
  expect_gradcheck_all([&](const std::vector<Tensor>& in) { return gru_cell(in[0], in[1], in[2]); },
                       {randn64({B, 3 * H}, 4), randn64({B, 3 * H}, 5), randn64({B, H}, 6)});
}

TEST(GruCell, ReadsStridedRowsInPlace) {
  // A step of a [B, T, 3H] tensor is a [B, 3H] view with row stride T * 3H.
  const std::int64_t B = 3, T = 5, H = 2;
  const Tensor gi_all = randn64({B, T, 3 * H}, 7), gh = randn64({B, 3 * H}, 8), h = randn64({B, H}, 9);
  const Tensor step = select(gi_all, 1, 2);
  ASSERT_FALSE(step.is_contiguous());
  expect_all_close(gru_cell(contiguous(step), gh, h), gru_cell(step, gh, h), "strided gi", 0, 0);
}

TEST(GruCell, BadShapesThrow) {
  const Tensor h = zeros({2, 4});
  expect_error([&] { gru_cell(zeros({2, 11}), zeros({2, 12}), h); }, {"gru_cell", "[2, 11]", "[2, 4]"});
  expect_error([&] { gru_cell(zeros({2, 12}), zeros({3, 12}), h); }, {"gru_cell", "gh", "[3, 12]"});
  expect_error([&] { gru_cell(zeros({2, 12}), zeros({2, 12}), h, zeros({2})); }, {"gru_cell", "mask", "b8"});
  expect_error([&] { gru_cell(zeros({2, 12}), zeros({2, 12}, {DType::f64}), h); }, {"gru_cell", "f64"});
  expect_error(
      [&] {
        gru_cell(zeros({2, 12}, {DType::i64}), zeros({2, 12}, {DType::i64}), zeros({2, 4}, {DType::i64}));
      },
      {"gru_cell", "floating"});
}

// ---- one layer's recurrence ----

TEST(GruRecurrence, GradcheckF64WithLeftPaddingAndH0) {
  const std::int64_t B = 3, T = 4, H = 3;
  // Left padding: sequence 1 starts at step 2, sequence 2 at step 3 (t is the row of this [T, B] mask).
  const Tensor mask = mask_of({1, 0, 0, /**/ 1, 0, 0, /**/ 1, 1, 0, /**/ 1, 1, 1}, {T, B});
  expect_gradcheck_all(
      [&](const std::vector<Tensor>& in) {
        // gi as a transposed view of a batch-first tensor, as GRU passes it.
        return gru_recurrence(transpose(in[0], 0, 1), in[1], in[2], in[3], mask);
      },
      {randn64({B, T, 3 * H}, 1), randn64({B, H}, 2), randn64({3 * H, H}, 3), randn64({3 * H}, 4)});
  expect_gradcheck_all([&](const std::vector<Tensor>& in) { return gru_recurrence(in[0], Tensor(), in[1]); },
                       {randn64({T, B, 3 * H}, 5), randn64({3 * H, H}, 6)});
}

TEST(GruRecurrence, BadShapesThrow) {
  const Tensor w = zeros({6, 2});
  expect_error([&] { gru_recurrence(zeros({4, 3, 5}), Tensor(), w); }, {"gru_recurrence", "gi", "[4, 3, 5]"});
  expect_error([&] { gru_recurrence(zeros({4, 3, 6}), zeros({2, 2}), w); }, {"gru_recurrence", "h0", "[2, 2]"});
  expect_error(
      [&] {
        gru_recurrence(zeros({4, 3, 6}), Tensor(), zeros({6, 3}));
      },
      {"gru_recurrence", "weight_hh", "[6, 3]"});
  expect_error(
      [&] {
        gru_recurrence(zeros({4, 3, 6}), Tensor(), w, zeros({5}));
      },
      {"gru_recurrence", "bias_hh", "[5]"});
  expect_error(
      [&] {
        gru_recurrence(zeros({4, 3, 6}), Tensor(), w, Tensor(), mask_of({1, 1, 1}, {3}));
      },
      {"gru_recurrence", "mask", "[4, 3]"});
  expect_error([&] { gru_recurrence(zeros({0, 3, 6}), Tensor(), w); }, {"gru_recurrence", "empty"});
}

// ---- the GRU layer ----

TEST(GRU, PyTorchNamesShapesAndInitialisation) {
  manual_seed(3);
  GRU gru(5, 16, {.num_layers = 2});
  EXPECT_EQ(nn::testing::names_of(gru.named_parameters()),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1",
                                      "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"}));
  EXPECT_EQ(gru.layers[0].weight_ih.shape(), (Shape{48, 5}));
  EXPECT_EQ(gru.layers[1].weight_ih.shape(), (Shape{48, 16}));
  EXPECT_EQ(gru.layers[1].weight_hh.shape(), (Shape{48, 16}));
  EXPECT_EQ(gru.layers[1].bias_hh.shape(), (Shape{48}));
  for (const Tensor& p : gru.parameters()) {
    double largest = 0.0;
    for (double v : p.to_vector<double>()) largest = std::max(largest, std::abs(v));
    EXPECT_LE(largest, 0.25);  // U(-1/sqrt(H), 1/sqrt(H)), H = 16
    EXPECT_GT(largest, 0.2);
  }
  GRU no_bias(5, 16, {.bias = false});
  EXPECT_EQ(nn::testing::names_of(no_bias.named_parameters()),
            (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"}));
}

TEST(GRU, GradcheckF64TwoLayersLeftPaddingAndH0) {
  const std::int64_t B = 3, T = 5, in = 3, H = 4, L = 2;
  // Left padded: lengths 5, 3 and 1.
  const Tensor mask = lengths_to_mask(from_vector<std::int64_t>({5, 3, 1}), T, Padding::left);
  EXPECT_EQ(mask.to_vector<int>(), (std::vector<int>{1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1}));
  std::vector<Tensor> inputs{randn64({B, T, in}, 1), randn64({L, B, H}, 2)};
  std::uint64_t seed = 10;
  for (std::int64_t k = 0; k < L; ++k) {
    inputs.push_back(randn64({3 * H, k == 0 ? in : H}, seed++));
    inputs.push_back(randn64({3 * H, H}, seed++));
    inputs.push_back(randn64({3 * H}, seed++));
    inputs.push_back(randn64({3 * H}, seed++));
  }
  expect_gradcheck_all(
      [&](const std::vector<Tensor>& in) {
        return joined(gru(in[0], in[1], mask, layer_weights(in, 2), /*batch_first=*/true));
      },
      inputs);
  // Time-major, no mask, no h0.
  std::vector<Tensor> time_major = inputs;
  time_major[0] = randn64({T, B, in}, 3);
  time_major.erase(time_major.begin() + 1);
  expect_gradcheck_all(
      [&](const std::vector<Tensor>& in) {
        return joined(gru(in[0], Tensor(), Tensor(), layer_weights(in, 1), /*batch_first=*/false));
      },
      time_major);
}

TEST(GRU, PaddedStepsNeverChangeTheState) {
  // Each sequence of a left- and a right-padded batch (garbage in the padded steps) gives the outputs
  // and final state of that sequence run alone; padded outputs are zero and padded inputs get no gradient.
  manual_seed(5);
  GRU gru(3, 4, {.num_layers = 2, .batch_first = true});
  const std::int64_t B = 3, T = 6;
  const std::vector<std::int64_t> lengths{6, 2, 4};
  for (Padding padding : {Padding::left, Padding::right}) {
    const Tensor mask = lengths_to_mask(from_vector(lengths), T, padding);
    Tensor x = randn({B, T, 3}).requires_grad_();
    Tensor h0 = randn({2, B, 4});
    const GRUOutput out = gru(x, h0, mask);
    sum(out.output).backward();
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t start = padding == Padding::left ? T - lengths[b] : 0;
      const Tensor alone_x = narrow(narrow(x.detach(), 0, b, 1), 1, start, lengths[b]);
      const GRUOutput alone = gru(alone_x, contiguous(narrow(h0, 1, b, 1)));
      const std::string what =
          std::string(padding == Padding::left ? "left" : "right") + " padding, row " + std::to_string(b);
      expect_all_close(alone.h_n, narrow(out.h_n, 1, b, 1), what + ": h_n", 1e-6, 1e-7);
      expect_all_close(alone.output, narrow(narrow(out.output, 0, b, 1), 1, start, lengths[b]), what + ": output", 1e-6,
                   1e-7);
      for (std::int64_t t = 0; t < T; ++t) {
        if (t >= start && t < start + lengths[b]) continue;
        expect_all_close(zeros({4}), select(select(out.output, 0, b), 0, t), what + ": padded output", 0, 0);
        expect_all_close(zeros({3}), select(select(x.grad(), 0, b), 0, t), what + ": padded input gradient", 0, 0);
      }
    }
  }
}

TEST(GRU, TimeMajorMatchesBatchFirst) {
  manual_seed(6);
  GRU batch_first(3, 4, {.num_layers = 2, .batch_first = true});
  GRU time_major(3, 4, {.num_layers = 2});
  time_major.load_state_dict(batch_first.state_dict());
  const Tensor x = randn({2, 5, 3});
  const Tensor mask = lengths_to_mask(from_vector<std::int64_t>({5, 3}), 5, Padding::left);
  const GRUOutput a = batch_first(x, Tensor(), mask);
  const GRUOutput b = time_major(transpose(x, 0, 1), Tensor(), mask);
  expect_all_close(a.output, transpose(b.output, 0, 1), "output", 0, 0);
  expect_all_close(a.h_n, b.h_n, "h_n", 0, 0);
}

TEST(GRU, InferenceWithoutGraphMatches) {
  // Without a graph the recurrence saves no gates (another path through the cell).
  manual_seed(8);
  GRU gru(3, 5, {.num_layers = 2, .batch_first = true});
  const Tensor x = randn({3, 4, 3}), h0 = randn({2, 3, 5});
  const Tensor mask = lengths_to_mask(from_vector<std::int64_t>({4, 2, 1}), 4, Padding::left);
  const GRUOutput with_graph = gru(x, h0, mask);
  ASSERT_TRUE(with_graph.output.requires_grad());
  NoGradGuard no_grad;
  const GRUOutput without = gru(x, h0, mask);
  EXPECT_FALSE(without.output.requires_grad());
  expect_all_close(with_graph.output, without.output, "output", 0, 0);
  expect_all_close(with_graph.h_n, without.h_n, "h_n", 0, 0);
}

TEST(GRU, DropoutBetweenLayersOnlyWhileTraining) {
  manual_seed(7);
  GRU with_dropout(3, 8, {.num_layers = 2, .batch_first = true, .dropout = 0.5});
  GRU without(3, 8, {.num_layers = 2, .batch_first = true});
  without.load_state_dict(with_dropout.state_dict());
  const Tensor x = randn({4, 5, 3});
  const GRUOutput reference = without(x);
  const GRUOutput trained = with_dropout(x);
  // Layer 0 sees no dropout; layer 1 sees a dropped-out input.
  expect_all_close(narrow(reference.h_n, 0, 0, 1), narrow(trained.h_n, 0, 0, 1), "layer 0 state", 0, 0);
  double difference = 0.0;
  for (double v : sub(reference.h_n, trained.h_n).to_vector<double>()) difference += std::abs(v);
  EXPECT_GT(difference, 1e-3);
  with_dropout.eval();
  const GRUOutput evaluated = with_dropout(x);
  expect_all_close(reference.output, evaluated.output, "eval output", 0, 0);
}

TEST(GRU, LengthsToMask) {
  const Tensor lengths = from_vector<std::int64_t>({2, 0, 3});
  EXPECT_EQ(lengths_to_mask(lengths, 3).to_vector<int>(), (std::vector<int>{1, 1, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(lengths_to_mask(lengths, 3, Padding::left).to_vector<int>(), (std::vector<int>{0, 1, 1, 0, 0, 0, 1, 1, 1}));
  expect_error([&] { lengths_to_mask(from_vector<std::int64_t>({4}), 3); }, {"lengths_to_mask", "4", "[0, 3]"});
  expect_error([&] { lengths_to_mask(zeros({2}), 3); }, {"lengths_to_mask", "f32"});
}

TEST(GRU, BadInputsThrow) {
  GRU gru(5, 6, {.num_layers = 2, .batch_first = true});
  expect_error([&] { gru(zeros({3, 5})); }, {"GRU", "[3, 5]"});
  expect_error([&] { gru(zeros({3, 7, 4})); }, {"GRU", "weight_ih_l0", "[18, 4]", "[3, 7, 4]"});
  expect_error([&] { gru(zeros({3, 7, 5}), zeros({1, 3, 6})); }, {"GRU", "h0", "[2, 3, 6]", "[1, 3, 6]"});
  expect_error([&] { gru(zeros({3, 7, 5}), Tensor(), zeros({3, 7})); }, {"GRU", "mask", "b8", "f32"});
  expect_error([&] { gru(zeros({3, 7, 5}), Tensor(), mask_of({1, 1, 1}, {3, 1})); }, {"GRU", "mask", "[3, 7]"});
  expect_error([&] { gru(zeros({3, 0, 5})); }, {"GRU", "empty"});
  expect_error([&] { gru(zeros({3, 7, 5}, {DType::f64})); }, {"GRU", "f32", "f64"});
  expect_error([&] { GRU(5, 0); }, {"GRU", "positive"});
  expect_error([&] { GRU(5, 6, {.dropout = 1.0}); }, {"GRU", "dropout"});
}

// ---- torch.nn.GRU fixtures ----

TEST(GRU, MatchesTorchTwoLayersBatchFirstWithH0) {
  const StateDict fixture = load_fixture("gru_basic");
  check_against_fixture(fixture, fixture.at("x"), Tensor(), fixture.at("w_out"), fixture.at("out.output"),
                        fixture.at("grad.x"), "gru_basic");
}

TEST(GRU, MatchesTorchPackedSequenceWithRightPaddingMask) {
  const StateDict fixture = load_fixture("gru_packed");
  const Tensor mask = lengths_to_mask(fixture.at("lengths"), fixture.at("x").size(1), Padding::right);
  check_against_fixture(fixture, fixture.at("x"), mask, fixture.at("w_out"), fixture.at("out.output"),
                        fixture.at("grad.x"), "gru_packed right");
}

TEST(GRU, LeftPaddingMatchesTorchPackedSequenceShifted) {
  // The fixture's right-padded batch with every sequence moved to the end of its row; the padded steps
  // in front hold other random values. Outputs, loss weights and input gradients shift along.
  const StateDict fixture = load_fixture("gru_packed");
  const std::vector<std::int64_t> lengths = fixture.at("lengths").to_vector<std::int64_t>();
  const Tensor x = fixture.at("x");
  manual_seed(11);
  const Tensor x_left = shift_left_padded(x, lengths, randn(x.shape()));
  const Tensor mask = lengths_to_mask(fixture.at("lengths"), x.size(1), Padding::left);
  check_against_fixture(fixture, x_left, mask, shift_left_padded(fixture.at("w_out"), lengths),
                        shift_left_padded(fixture.at("out.output"), lengths),
                        shift_left_padded(fixture.at("grad.x"), lengths), "gru_packed left");
}

// Module: registration, hierarchical names, modes, gradients, dtype
// conversion and state_dict loading.
#include <gtest/gtest.h>

#include "nn/module.h"
#include "nn/module_list.h"
#include "nn/sequential.h"
#include "nn_test_util.h"
#include "recgrad.h"

using namespace recgrad;
using namespace recgrad::nn;
using namespace recgrad::nn::testing;

namespace {

// A tiny layer built only from core ops: y = x * scale + shift.
struct ScaleShift : Module {
  Tensor scale, shift, calls;
  explicit ScaleShift(std::int64_t n) {
    scale = register_parameter("scale", randn({n}));
    shift = register_parameter("shift", randn({n}));
    calls = register_buffer("calls", zeros({1}, {DType::i64}));
  }
  Tensor forward(const Tensor& x) const { return x * scale + shift; }
};

// blocks.<i>.ffn.<j>.{scale,shift} plus a top-level head, to exercise nesting.
struct Block : Module {
  std::shared_ptr<Sequential> ffn;
  explicit Block(std::int64_t n) {
    ffn = register_module(
        "ffn", std::make_shared<Sequential>(std::make_shared<ScaleShift>(n), std::make_shared<ScaleShift>(n)));
  }
};

struct Net : Module {
  Tensor temperature;
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<ScaleShift> head;
  explicit Net(std::int64_t n = 3) {
    temperature = register_parameter("temperature", ones({1}));
    blocks = register_module("blocks", std::make_shared<ModuleList>());
    blocks->push_back(std::make_shared<Block>(n));
    blocks->push_back(std::make_shared<Block>(n));
    register_buffer("mask", from_vector<bool>({true, false, true}, {3}));
    head = register_module("head", std::make_shared<ScaleShift>(n));
  }
  Tensor forward(const Tensor& x) const {
    Tensor y = x * temperature;
    for (std::size_t i = 0; i < blocks->size(); ++i) y = blocks->at<Block>(i)->ffn->forward(y);
    return head->forward(y);
  }
};

}  // namespace

TEST(Module, HierarchicalNamesInRegistrationOrder) {
  Net net;
  const std::vector<std::string> expected = {"temperature",
                                             "blocks.0.ffn.0.scale",
                                             "blocks.0.ffn.0.shift",
                                             "blocks.0.ffn.1.scale",
                                             "blocks.0.ffn.1.shift",
                                             "blocks.1.ffn.0.scale",
                                             "blocks.1.ffn.0.shift",
                                             "blocks.1.ffn.1.scale",
                                             "blocks.1.ffn.1.shift",
                                             "head.scale",
                                             "head.shift"};
  EXPECT_EQ(names_of(net.named_parameters()), expected);
  EXPECT_EQ(net.parameters().size(), expected.size());
  EXPECT_EQ(net.num_parameters(), 1 + 10 * 3);
  EXPECT_EQ(names_of(net.named_parameters(/*recurse=*/false)), std::vector<std::string>{"temperature"});
  EXPECT_EQ(names_of(net.named_buffers()),
            (std::vector<std::string>{"mask", "blocks.0.ffn.0.calls", "blocks.0.ffn.1.calls", "blocks.1.ffn.0.calls",
                                      "blocks.1.ffn.1.calls", "head.calls"}));
  // The named tensors are the layer's own handles.
  EXPECT_EQ(net.named_parameters()[9].second.impl_ptr(), net.head->scale.impl_ptr());
  for (const Tensor& p : net.parameters()) EXPECT_TRUE(p.requires_grad());
  ASSERT_EQ(net.named_children().size(), 2u);
  EXPECT_EQ(net.named_children()[0].first, "blocks");
  EXPECT_EQ(net.named_children()[1].first, "head");

  // state_dict: own parameters, own buffers, then children (PyTorch's order).
  const std::vector<std::string> state_names = net.state_dict().names();
  EXPECT_EQ(state_names.front(), "temperature");
  EXPECT_EQ(state_names[1], "mask");
  EXPECT_EQ(state_names[2], "blocks.0.ffn.0.scale");
  EXPECT_EQ(state_names[4], "blocks.0.ffn.0.calls");
  EXPECT_EQ(state_names.back(), "head.calls");
  EXPECT_EQ(state_names.size(), 11u + 6u);
}

TEST(Module, NamedModulesWalksDescendantsInPreOrder) {
  Net net;
  std::vector<std::string> names;
  for (const auto& [name, module] : net.named_modules()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"blocks", "blocks.0", "blocks.0.ffn", "blocks.0.ffn.0", "blocks.0.ffn.1",
                                             "blocks.1", "blocks.1.ffn", "blocks.1.ffn.0", "blocks.1.ffn.1", "head"}));
  EXPECT_EQ(net.named_modules().back().second, net.head);
  // Finding layers by type, as optimizer routing may do.
  int scale_shifts = 0;
  for (const auto& entry : net.named_modules())
    scale_shifts += std::dynamic_pointer_cast<ScaleShift>(entry.second) != nullptr;
  EXPECT_EQ(scale_shifts, 5);
}

TEST(Module, RegistrationErrors) {
  Module m;
  m.register_parameter("w", zeros({2}));
  EXPECT_NE(message_of([&] { m.register_parameter("w", zeros({2})); }).find("'w' is already registered"),
            std::string::npos);
  EXPECT_THROW(m.register_buffer("w", zeros({2})), Error);
  EXPECT_THROW(m.register_module("w", std::make_shared<Module>()), Error);
  EXPECT_NE(message_of([&] { m.register_parameter("a.b", zeros({2})); }).find("must not contain '.'"),
            std::string::npos);
  EXPECT_THROW(m.register_parameter("", zeros({2})), Error);
  EXPECT_NE(message_of([&] { m.register_parameter("idx", zeros({2}, {DType::i64})); }).find("i64"), std::string::npos);
  EXPECT_THROW(m.register_parameter("undefined", Tensor()), Error);
  Tensor leaf = ones({2}).requires_grad_();
  EXPECT_NE(message_of([&] { m.register_parameter("derived", leaf * 2.0); }).find("leaf"), std::string::npos);
  EXPECT_THROW(m.register_module("null", std::shared_ptr<Module>()), Error);
  auto parent = std::make_shared<Module>();
  auto child = parent->register_module("child", std::make_shared<Module>());
  EXPECT_THROW(parent->register_module("self", parent), Error);
  EXPECT_NE(message_of([&] { child->register_module("up", parent); }).find("cycle"), std::string::npos);
  EXPECT_EQ(m.named_parameters().size(), 1u);
}

TEST(Module, TiedParametersAppearOnceButAreSavedUnderEveryName) {
  Module m;
  Tensor shared = m.register_parameter("embedding", zeros({4, 2}));
  auto head = m.register_module("head", std::make_shared<Module>());
  head->register_parameter("weight", shared);
  EXPECT_EQ(names_of(m.named_parameters()), std::vector<std::string>{"embedding"});
  EXPECT_EQ(m.state_dict().names(), (std::vector<std::string>{"embedding", "head.weight"}));
  m.register_module("again", head);  // a shared submodule is listed once
  EXPECT_EQ(m.named_modules().size(), 1u);
  EXPECT_EQ(names_of(m.named_parameters()), std::vector<std::string>{"embedding"});
}

TEST(Module, TrainAndEvalPropagateToEveryDescendant) {
  Net net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.blocks->is_training());
  EXPECT_FALSE(net.blocks->at<Block>(1)->ffn->at(0)->is_training());
  EXPECT_FALSE(net.head->is_training());
  net.blocks->train();
  EXPECT_FALSE(net.is_training());
  EXPECT_TRUE(net.blocks->at<Block>(0)->ffn->at<ScaleShift>(1)->is_training());
  net.train(true);
  EXPECT_TRUE(net.head->is_training());
}

TEST(Module, ZeroGradDropsEveryGradient) {
  manual_seed(3);
  Net net;
  sum(net.forward(randn({5, 3}))).backward();
  for (const auto& [name, p] : net.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
  net.zero_grad();
  for (const auto& [name, p] : net.named_parameters()) EXPECT_FALSE(p.grad().defined()) << name;
}

TEST(Module, ToDtypeConvertsInPlaceAndKeepsHandles) {
  manual_seed(4);
  Net net;
  const std::vector<float> before = net.head->scale.to_vector<float>();
  Tensor handle = net.head->scale;
  sum(net.forward(randn({2, 3}))).backward();
  net.to_dtype(DType::f64);
  EXPECT_EQ(handle.dtype(), DType::f64);
  EXPECT_EQ(net.named_parameters()[9].second.dtype(), DType::f64);
  EXPECT_TRUE(handle.requires_grad());
  EXPECT_FALSE(handle.grad().defined());
  const std::vector<double> after = handle.to_vector<double>();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i], static_cast<double>(before[i]));
  EXPECT_EQ(net.head->calls.dtype(), DType::i64);  // non-floating buffers keep their dtype
  EXPECT_EQ(net.state_dict().at("mask").dtype(), DType::b8);
  // The converted module runs and differentiates in f64.
  Tensor y = net.forward(randn({2, 3}, {DType::f64}));
  EXPECT_EQ(y.dtype(), DType::f64);
  sum(y).backward();
  EXPECT_EQ(handle.grad().dtype(), DType::f64);
  EXPECT_THROW(net.to_dtype(DType::i32), Error);
}

TEST(Module, LoadStateDictCopiesInPlaceWithoutGraph) {
  manual_seed(5);
  Net source;
  manual_seed(6);
  Net target;
  Tensor handle = target.head->shift;
  ASSERT_FALSE(bit_equal(source.head->shift, target.head->shift));
  const auto result = target.load_state_dict(source.state_dict());
  EXPECT_TRUE(result.missing_keys.empty());
  EXPECT_TRUE(result.unexpected_keys.empty());
  EXPECT_EQ(target.head->shift.impl_ptr(), handle.impl_ptr());
  EXPECT_TRUE(handle.is_leaf());
  for (const auto& [name, tensor] : source.state_dict())
    EXPECT_TRUE(bit_equal(tensor, target.state_dict().at(name))) << name;
  // The copy is independent of the source.
  EXPECT_FALSE(target.head->shift.shares_storage(source.head->shift));
}

TEST(Module, StrictLoadListsEveryMissingAndUnexpectedName) {
  Net net;
  StateDict partial;
  for (const auto& [name, tensor] : net.state_dict()) {
    if (name != "head.shift" && name != "blocks.1.ffn.0.scale") partial.insert(name, clone(tensor));
  }
  partial.insert("head.extra", zeros({3}));
  partial.insert("decoder.weight", zeros({2, 2}));
  const std::string message = message_of([&] { net.load_state_dict(partial); });
  EXPECT_NE(message.find("load_state_dict"), std::string::npos) << message;
  EXPECT_NE(message.find("missing keys: blocks.1.ffn.0.scale, head.shift"), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected keys: head.extra, decoder.weight"), std::string::npos) << message;

  // Non-strict: loads what matches and reports the rest.
  manual_seed(7);
  Net other;
  const Tensor kept_shift = clone(other.head->shift);
  const auto result = other.load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(result.missing_keys, (std::vector<std::string>{"blocks.1.ffn.0.scale", "head.shift"}));
  EXPECT_EQ(result.unexpected_keys, (std::vector<std::string>{"head.extra", "decoder.weight"}));
  EXPECT_TRUE(bit_equal(other.head->shift, kept_shift));
  EXPECT_TRUE(bit_equal(other.head->scale, net.head->scale));
}

TEST(Module, LoadRejectsShapeAndDtypeMismatchesAndChangesNothing) {
  manual_seed(8);
  Net net;
  const Tensor original = clone(net.head->scale);
  StateDict state;
  for (const auto& [name, tensor] : net.state_dict()) {
    if (name == "head.shift") {
      state.insert(name, zeros({4, 3}));
    } else if (name == "temperature") {
      state.insert(name, zeros({1}, {DType::f64}));
    } else {
      state.insert(name, zeros_like(tensor));
    }
  }
  const std::string message = message_of([&] { net.load_state_dict(state); });
  EXPECT_NE(message.find("'head.shift': expected shape [3] f32, got shape [4, 3] f32"), std::string::npos) << message;
  EXPECT_NE(message.find("'temperature': expected shape [1] f32, got shape [1] f64"), std::string::npos) << message;
  EXPECT_THROW(net.load_state_dict(state, /*strict=*/false), Error);
  EXPECT_TRUE(bit_equal(net.head->scale, original));  // nothing was copied
}

TEST(StateDict, OrderedLookup) {
  StateDict d{{"b", zeros({1})}, {"a", ones({2})}};
  EXPECT_EQ(d.names(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(d.at("a").numel(), 2);
  EXPECT_EQ(d.find("c"), nullptr);
  EXPECT_NE(message_of([&] { d.at("c"); }).find("'c'"), std::string::npos);
  EXPECT_THROW(d.insert("a", zeros({1})), Error);
}

TEST(Sequential, AppliesModulesInOrderAndNamesThemByIndex) {
  manual_seed(9);
  auto first = std::make_shared<ScaleShift>(2);
  auto second = std::make_shared<ScaleShift>(2);
  Sequential seq(first, second);
  EXPECT_EQ(seq.size(), 2u);
  EXPECT_EQ(names_of(seq.named_parameters()), (std::vector<std::string>{"0.scale", "0.shift", "1.scale", "1.shift"}));
  Tensor x = randn({4, 2});
  const std::vector<float> expected = second->forward(first->forward(x)).to_vector<float>();
  EXPECT_EQ(seq(x).to_vector<float>(), expected);
  EXPECT_EQ(seq.at<ScaleShift>(1), second);
  EXPECT_THROW(seq.at(2), Error);
  EXPECT_THROW(seq.at<Sequential>(0), Error);
  Sequential empty_seq;
  EXPECT_EQ(empty_seq(x).to_vector<float>(), x.to_vector<float>());
}

TEST(ModuleList, IndexesAndRegisters) {
  ModuleList list;
  list.push_back(std::make_shared<ScaleShift>(1));
  list.push_back(std::make_shared<Sequential>());
  EXPECT_EQ(list.size(), 2u);
  EXPECT_NE(list.at<ScaleShift>(0), nullptr);
  EXPECT_NE(list[1], nullptr);
  EXPECT_THROW(list.at<ScaleShift>(1), Error);
  EXPECT_THROW(list[2], Error);
  EXPECT_EQ(names_of(list.named_parameters()), (std::vector<std::string>{"0.scale", "0.shift"}));
}

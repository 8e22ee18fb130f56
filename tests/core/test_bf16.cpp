// bf16 on the CPU: the rounding of recgrad::bfloat16 (nearest even, NaN kept, overflow to infinity),
// exact f32 round trips, tensors of bf16 through the generic code (to_dtype, copies of views, fill,
// printing, safetensors), and the clear errors of the arithmetic ops, which do not take bf16.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "core/ops/copy.h"
#include "core/ops/matmul.h"
#include "core/ops/view.h"
#include "nn/safetensors.h"
#include "recgrad.h"
#include "test_support.h"

using namespace recgrad;
using recgrad::testing::expect_error;

namespace {

float f32_of_bits(std::uint32_t bits) { return std::bit_cast<float>(bits); }
std::uint16_t bf16_bits(float value) { return bfloat16(value).bits; }

// The bfloat16 nearest to `value` by exhaustive reasoning in double: the two bf16 neighbours of a
// finite f32 are its truncation and the next one up in magnitude; the closer wins, ties go to the
// even one. Only for finite, non-NaN inputs.
std::uint16_t reference_bits(float value) {
  const std::uint32_t raw = std::bit_cast<std::uint32_t>(value);
  const auto down = static_cast<std::uint16_t>(raw >> 16);
  const auto up = static_cast<std::uint16_t>(down + 1);  // may step into infinity: that is correct
  const double distance_down = std::abs(static_cast<double>(value) - static_cast<float>(bfloat16::from_bits(down)));
  const double distance_up = std::abs(static_cast<double>(value) - static_cast<float>(bfloat16::from_bits(up)));
  if ((raw & 0xffffu) == 0) return down;  // exactly representable
  if (std::isinf(static_cast<float>(bfloat16::from_bits(up)))) {
    // Above the largest finite bf16 the f32 distance to "infinity" is not meaningful: IEEE rounds to
    // infinity when the value is at or beyond the midpoint max + half an ulp (0x...7f7f8000).
    return (raw & 0xffffu) >= 0x8000u ? up : down;
  }
  if (distance_down < distance_up) return down;
  if (distance_up < distance_down) return up;
  return (down & 1u) == 0 ? down : up;
}

}  // namespace

TEST(Bf16, TypeBasics) {
  EXPECT_EQ(sizeof(bfloat16), 2u);
  EXPECT_EQ(element_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_name(DType::bf16), "bf16");
  EXPECT_EQ(dtype_of<bfloat16>(), DType::bf16);
  EXPECT_FALSE(is_floating(DType::bf16));  // storage only: the arithmetic kernels do not take it
  EXPECT_EQ(bfloat16{}.bits, 0u);
  EXPECT_TRUE(visit_dtype(DType::bf16, []<typename T>(T) { return std::is_same_v<T, bfloat16>; }));
  std::ostringstream out;
  out << DType::bf16;
  EXPECT_EQ(out.str(), "bf16");
}

TEST(Bf16, ExactValuesConvertExactly) {
  for (float v : {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 3.0f, 1.5f, -0.15625f, 256.0f, 65536.0f}) {
    EXPECT_EQ(static_cast<float>(bfloat16(v)), v) << v;
  }
  EXPECT_EQ(bf16_bits(1.0f), 0x3f80u);
  EXPECT_EQ(bf16_bits(-2.0f), 0xc000u);
  EXPECT_EQ(bf16_bits(0.0f), 0x0000u);
  EXPECT_EQ(bf16_bits(-0.0f), 0x8000u);  // the sign of zero is kept
}

TEST(Bf16, RoundsToNearestTiesToEven) {
  // 1 + 2^-8 lies exactly between 0x3f80 (1.0) and 0x3f81: the even one, 0x3f80, wins.
  EXPECT_EQ(bf16_bits(f32_of_bits(0x3f808000u)), 0x3f80u);
  // Halfway between 0x3f81 and 0x3f82: the even one is above.
  EXPECT_EQ(bf16_bits(f32_of_bits(0x3f818000u)), 0x3f82u);
  // Just above / below the midpoint.
  EXPECT_EQ(bf16_bits(f32_of_bits(0x3f808001u)), 0x3f81u);
  EXPECT_EQ(bf16_bits(f32_of_bits(0x3f807fffu)), 0x3f80u);
  // Negative values round by magnitude.
  EXPECT_EQ(bf16_bits(f32_of_bits(0xbf808000u)), 0xbf80u);
  EXPECT_EQ(bf16_bits(f32_of_bits(0xbf818000u)), 0xbf82u);
  EXPECT_EQ(bf16_bits(f32_of_bits(0xbf80c000u)), 0xbf81u);
  // A carry out of the mantissa moves to the next binade: 0x3fff8000 is halfway to 2.0 and 0x3fff is odd.
  EXPECT_EQ(bf16_bits(f32_of_bits(0x3fff8000u)), 0x4000u);
  // Subnormals round like everything else: the smallest f32 subnormal goes to zero, a tie stays even.
  EXPECT_EQ(bf16_bits(f32_of_bits(0x00000001u)), 0x0000u);
  EXPECT_EQ(bf16_bits(f32_of_bits(0x00008000u)), 0x0000u);
  EXPECT_EQ(bf16_bits(f32_of_bits(0x00018000u)), 0x0002u);
  EXPECT_EQ(bf16_bits(f32_of_bits(0x00008001u)), 0x0001u);
}

TEST(Bf16, InfinityOverflowAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(bf16_bits(inf), 0x7f80u);
  EXPECT_EQ(bf16_bits(-inf), 0xff80u);
  EXPECT_TRUE(std::isinf(static_cast<float>(bfloat16(inf))));
  // The largest finite bf16 is 0x7f7f; f32 values at or above the midpoint to the next step overflow.
  EXPECT_EQ(bf16_bits(f32_of_bits(0x7f7f0000u)), 0x7f7fu);
  EXPECT_EQ(bf16_bits(f32_of_bits(0x7f7f7fffu)), 0x7f7fu);
  EXPECT_EQ(bf16_bits(f32_of_bits(0x7f7f8000u)), 0x7f80u);  // tie, 0x7f7f odd: up, to infinity
  EXPECT_EQ(bf16_bits(std::numeric_limits<float>::max()), 0x7f80u);
  EXPECT_EQ(bf16_bits(-std::numeric_limits<float>::max()), 0xff80u);
  // NaN stays NaN, sign kept, also when the payload lives only in the bits that are dropped.
  const float quiet_nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16(quiet_nan))));
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16(f32_of_bits(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16(f32_of_bits(0x7fffffffu)))));
  EXPECT_EQ(bf16_bits(f32_of_bits(0x7f800001u)) & 0x8000u, 0u);
  EXPECT_EQ(bf16_bits(f32_of_bits(0xff800001u)) & 0x8000u, 0x8000u);
  EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16(f32_of_bits(0xff800001u)))));
}

TEST(Bf16, EveryBf16RoundTripsThroughF32) {
  for (std::uint32_t bits = 0; bits <= 0xffffu; ++bits) {
    const bfloat16 b = bfloat16::from_bits(static_cast<std::uint16_t>(bits));
    const float f = static_cast<float>(b);
    EXPECT_EQ(std::bit_cast<std::uint32_t>(f), bits << 16);  // widening is exact: the low 16 bits are zero
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(static_cast<float>(bfloat16(f))));
    } else {
      ASSERT_EQ(bfloat16(f).bits, bits) << "bf16 bits " << bits;
    }
  }
}

TEST(Bf16, RandomF32RoundToTheNearestBf16) {
  std::uint64_t state = 0x9e3779b97f4a7c15ull;  // splitmix64: every kind of bit pattern, all binades
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    state += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const float value = f32_of_bits(static_cast<std::uint32_t>(z));
    if (std::isnan(value) || std::isinf(value)) continue;
    ASSERT_EQ(bf16_bits(value), reference_bits(value)) << "f32 bits " << std::bit_cast<std::uint32_t>(value);
    // The relative error of a normal value is at most half a bf16 ulp, 2^-8 of the value.
    const float rounded = static_cast<float>(bfloat16(value));
    if (std::isfinite(rounded) && std::abs(value) >= std::numeric_limits<float>::min()) {
      EXPECT_LE(std::abs(rounded - value), std::ldexp(std::abs(value), -8));
    }
    ++checked;
  }
  EXPECT_GT(checked, 190000);
}

TEST(Bf16, TensorToDtypeRoundTrip) {
  const std::vector<float> values{1.0f, -2.5f, 3.14159265f, 1e-3f, 65504.0f, -0.0f, 1e30f, 1.00390625f};
  const Tensor f = from_vector<float>(values, {2, 4});
  const Tensor b = raw::to_dtype(f, DType::bf16);
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_EQ(b.shape(), (Shape{2, 4}));
  const auto* bits = static_cast<const bfloat16*>(b.raw_data());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(bits[i].bits, bf16_bits(values[i])) << i;
  // Back to f32: each value is the f32 of its bf16 (exact); a second trip changes nothing.
  const Tensor back = raw::to_dtype(b, DType::f32);
  const std::vector<float> round_trip = back.to_vector<float>();
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(round_trip[i], static_cast<float>(bfloat16(values[i])));
  EXPECT_EQ(raw::to_dtype(raw::to_dtype(back, DType::bf16), DType::f32).to_vector<float>(), round_trip);
  // to_vector reads bf16 directly, and f64 / integer conversions go through the same generic copy.
  EXPECT_EQ(b.to_vector<float>(), round_trip);
  EXPECT_EQ(raw::to_dtype(b, DType::f64).to_vector<double>()[2], static_cast<double>(round_trip[2]));
  EXPECT_EQ(raw::to_dtype(b, DType::i64).to_vector<std::int64_t>()[1], -2);  // truncation toward zero, like f32
  EXPECT_EQ(raw::to_dtype(from_vector<std::int64_t>({257, -3}, {2}), DType::bf16).to_vector<float>(),
            (std::vector<float>{256.0f, -3.0f}));  // 257 needs 9 bits: ties to even gives 256
  // The autograd to_dtype without gradients behaves the same.
  EXPECT_EQ(to_dtype(f, DType::bf16).to_vector<float>(), round_trip);
}

TEST(Bf16, ViewsFillAndPrinting) {
  const Tensor f = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = raw::to_dtype(f, DType::bf16);
  // A transposed view copies through the strided generic path.
  const Tensor t = raw::contiguous(raw::transpose(b, 0, 1));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  // A strided f32 source converts straight into bf16.
  EXPECT_EQ(raw::to_dtype(raw::transpose(f, 0, 1), DType::bf16).to_vector<float>(),
            (std::vector<float>{1, 4, 2, 5, 3, 6}));
  Tensor filled = Tensor::empty({3}, DType::bf16);
  raw::fill_(filled, 0.1);
  for (float v : filled.to_vector<float>()) EXPECT_EQ(v, static_cast<float>(bfloat16(0.1f)));
  EXPECT_EQ(zeros({2}, {DType::bf16}).to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_EQ(full({2}, 1.5, {DType::bf16}).to_vector<float>(), (std::vector<float>{1.5f, 1.5f}));
  EXPECT_FLOAT_EQ(raw::to_dtype(scalar_tensor(2.0), DType::bf16).item<float>(), 2.0f);
  std::ostringstream out;
  out << b;
  EXPECT_NE(out.str().find("dtype=bf16"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("values=[1, 2, 3, 4, 5, 6]"), std::string::npos) << out.str();
}

TEST(Bf16, SafetensorsRoundTrip) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("recgrad_bf16_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "bf16.safetensors").string();
  manual_seed(5);
  const Tensor b = raw::to_dtype(randn({3, 5}), DType::bf16);
  nn::save_safetensors(path, {{"w", b}, {"wt", raw::transpose(b, 0, 1)}});
  const nn::StateDict loaded = nn::load_safetensors(path);
  ASSERT_EQ(loaded.at("w").dtype(), DType::bf16);
  EXPECT_EQ(loaded.at("w").shape(), b.shape());
  EXPECT_EQ(loaded.at("w").to_vector<float>(), b.to_vector<float>());
  EXPECT_EQ(loaded.at("wt").to_vector<float>(), raw::transpose(b, 0, 1).to_vector<float>());
  // The header names the dtype as other tools do ("BF16"), and each element takes two bytes.
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(bytes.find("\"dtype\":\"BF16\""), std::string::npos);
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ(bytes.size(), 8 + header_size + 2 * 15 * 2);
  fs::remove_all(dir);
}

TEST(Bf16, ArithmeticRejectsBf16Clearly) {
  const Tensor b = raw::to_dtype(from_vector<float>({1, 2, 3, 4}, {2, 2}), DType::bf16);
  expect_error([&] { add(b, b); }, {"add", "bf16"});
  expect_error([&] { mul(b, 2.0); }, {"mul", "bf16"});
  expect_error([&] { exp(b); }, {"exp", "bf16"});
  expect_error([&] { sum(b); }, {"sum", "bf16"});
  expect_error([&] { softmax(b, -1); }, {"softmax", "bf16"});
  // The matrix products take bf16 on CUDA only.
  expect_error([&] { matmul(b, b); }, {"matmul", "bf16 on CUDA only", "got bf16 [2, 2]"});
  expect_error([&] { raw::mm(b, b); }, {"mm", "bf16 on CUDA only"});
  // No gradients for a storage type.
  Tensor leaf = raw::clone(b);
  expect_error([&] { leaf.requires_grad_(); }, {"requires_grad_", "bf16"});
  // The shared dtype visitors say what to do.
  expect_error([] { visit_floating(DType::bf16, "op", []<typename T>(T) {}); },
               {"op: expected a floating dtype (f32 or f64), got bf16", "convert with to_dtype(f32)"});
  expect_error([] { visit_numeric(DType::bf16, "op", []<typename T>(T) {}); },
               {"op: expected a numeric dtype (f32, f64, i64 or i32), got bf16", "to_dtype(f32)"});
}

TEST(Tf32Switch, DefaultsOffAndToggles) {
  EXPECT_FALSE(allow_tf32());
  set_allow_tf32(true);
  EXPECT_TRUE(allow_tf32());
  // No effect on the CPU: f32 products are the same with the switch on.
  const Tensor a = from_vector<float>({1.0f / 3, 2, 3, 4}, {2, 2});
  const std::vector<float> with_tf32 = raw::mm(a, a).to_vector<float>();
  set_allow_tf32(false);
  EXPECT_FALSE(allow_tf32());
  EXPECT_EQ(raw::mm(a, a).to_vector<float>(), with_tf32);
}

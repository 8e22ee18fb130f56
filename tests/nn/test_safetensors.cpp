// safetensors I/O: bit-exact round trips, the on-disk format, validation of
// corrupt files, the checksum, and atomic writes.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nn/module.h"
#include "nn/safetensors.h"
#include "nn_test_util.h"
#include "test_support.h"
#include "recgrad.h"

using namespace recgrad;
using namespace recgrad::nn;
using recgrad::testing::read_bytes;
using recgrad::testing::write_bytes;
using namespace recgrad::nn::testing;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed at the end of the test.
class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("recgrad_safetensors_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// A file made of an 8-byte little-endian header length, `header`, then `data`.
std::string make_file(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  std::uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  return bytes + header + data;
}

// One tensor of every supported dtype, including a non-contiguous view and an empty tensor.
StateDict every_dtype() {
  manual_seed(11);
  StateDict d;
  d.insert("f32", randn({3, 4}));
  d.insert("f64.transposed", transpose(randn({2, 3}, {DType::f64}), 0, 1));
  d.insert("i64", from_vector<std::int64_t>({-1, 0, std::int64_t{1} << 40}, {3}));
  d.insert("i32", from_vector<std::int32_t>({7, -8}, {1, 2}));
  d.insert("bool", from_vector<bool>({true, false, true, true}, {2, 2}));
  d.insert("u8", from_vector<std::uint8_t>({0, 255, 17}, {3}));
  d.insert("scalar", scalar_tensor(3.5));
  d.insert("empty", zeros({0, 5}));
  return d;
}

struct TinyModel : Module {
  TinyModel() {
    register_parameter("weight", randn({4, 3}));
    register_parameter("bias", randn({4}));
    register_buffer("steps", full({1}, 12, {DType::i64}));
  }
};

}  // namespace

TEST_F(SafetensorsTest, RoundTripIsBitExactForEveryDtype) {
  const StateDict original = every_dtype();
  save_safetensors(path("all.safetensors"), original, {{"format", "pt"}, {"note", "hello"}});
  const SafetensorsContents loaded = read_safetensors(path("all.safetensors"));
  EXPECT_EQ(loaded.tensors.names(), original.names());
  for (const auto& [name, tensor] : original) {
    EXPECT_TRUE(bit_equal(loaded.tensors.at(name), tensor)) << name;
  }
  EXPECT_EQ(loaded.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"note", "hello"}}));
  EXPECT_EQ(loaded.checksum.rfind("fnv1a64:", 0), 0u) << loaded.checksum;
  EXPECT_EQ(loaded.checksum.size(), 8u + 16u);
  EXPECT_EQ(load_safetensors(path("all.safetensors")).size(), original.size());
  EXPECT_FALSE(fs::exists(path("all.safetensors") + ".tmp-" + std::to_string(::getpid())));
}

TEST_F(SafetensorsTest, FileFollowsTheSafetensorsLayout) {
  StateDict d;
  d.insert("a", from_vector<float>({1.0f, -2.0f}, {2}));
  d.insert("b", from_vector<std::int64_t>({5}, {1, 1}));
  save_safetensors(path("layout.safetensors"), d, {{"k", "v"}});
  const std::string bytes = read_bytes(path("layout.safetensors"));
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // data block 8-byte aligned
  ASSERT_EQ(bytes.size(), 8 + n + 8 + 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["a"]["dtype"], "F32");
  EXPECT_EQ(header["a"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(header["a"]["data_offsets"], nlohmann::json::array({0, 8}));
  EXPECT_EQ(header["b"]["dtype"], "I64");
  EXPECT_EQ(header["b"]["shape"], nlohmann::json::array({1, 1}));
  EXPECT_EQ(header["b"]["data_offsets"], nlohmann::json::array({8, 16}));
  EXPECT_EQ(header["__metadata__"]["k"], "v");
  EXPECT_EQ(header["__metadata__"][kSafetensorsChecksumKey].get<std::string>().rfind("fnv1a64:", 0), 0u);
  float a1 = 0;
  std::memcpy(&a1, bytes.data() + 8 + n + 4, 4);
  EXPECT_EQ(a1, -2.0f);
}

TEST_F(SafetensorsTest, ReadsAHandWrittenFile) {
  // As another tool would write it: unpadded header, tensors in reverse key order.
  const float values[2] = {0.5f, 4.0f};
  const std::int32_t index = -3;
  std::string data(reinterpret_cast<const char*>(&index), 4);
  data += std::string(reinterpret_cast<const char*>(values), 8);
  data += '\x01';
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[2,1],"data_offsets":[4,12]},"i":{"dtype":"I32","shape":[],"data_offsets":[0,4]},)"
      R"("m":{"dtype":"BOOL","shape":[1],"data_offsets":[12,13]},"__metadata__":{"format":"pt"}})";
  write_bytes(path("hand.safetensors"), make_file(header, data));
  const SafetensorsContents c = read_safetensors(path("hand.safetensors"));
  EXPECT_EQ(c.tensors.names(), (std::vector<std::string>{"i", "w", "m"}));  // data order
  EXPECT_EQ(c.tensors.at("w").shape(), (Shape{2, 1}));
  EXPECT_EQ(c.tensors.at("w").to_vector<float>(), (std::vector<float>{0.5f, 4.0f}));
  EXPECT_EQ(c.tensors.at("i").dim(), 0);
  EXPECT_EQ(c.tensors.at("i").item<std::int32_t>(), -3);
  EXPECT_EQ(c.tensors.at("m").to_vector<int>(), std::vector<int>{1});
  EXPECT_EQ(c.metadata.at("format"), "pt");
  EXPECT_EQ(c.checksum, "");  // no checksum: loads, unverified
}

TEST_F(SafetensorsTest, CorruptFilesThrowErrorsNamingTheProblem) {
  const std::string f32x2 = std::string(8, '\0');
  struct Case {
    std::string label, bytes, expected;
  };
  std::uint64_t huge = 1000;
  std::string huge_length(8, '\0');
  std::memcpy(huge_length.data(), &huge, 8);
  const std::vector<Case> cases = {
      {"empty", "", "truncated file"},
      {"short", "abc", "truncated file"},
      {"length beyond file", huge_length + "{}", "beyond the file size"},
      {"bad json", make_file("{\"a\": ", ""), "bad JSON"},
      {"not an object", make_file("[1, 2]", ""), "not a JSON object"},
      {"unknown dtype", make_file(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "abcd"),
       "unknown or unsupported dtype 'F16'"},
      {"missing dtype", make_file(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", f32x2), "no dtype"},
      {"negative extent", make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2),
       "invalid shape"},
      {"shape not array", make_file(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", f32x2),
       "no shape array"},
      {"offsets malformed", make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", f32x2),
       "data_offsets [begin, end]"},
      {"offsets reversed", make_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", f32x2),
       "out of range"},
      {"offsets out of range", make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f32x2),
       "out of range"},
      {"size mismatch", make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2), "needs 12"},
      {"overlap",
       make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],)"
                 R"("data_offsets":[4,8]}})",
                 f32x2),
       "overlaps"},
      {"gap", make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32x2), "gap of 4 bytes"},
      {"trailing bytes", make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32x2),
       "4 unused bytes"},
      {"metadata not strings", make_file(R"({"__metadata__":{"epoch":3}})", ""), "not a string"},
      {"shape overflow",
       make_file(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", f32x2), "too large"},
      {"strides overflow beside a zero extent",
       make_file(R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", ""), "too large"},
      {"extent beyond int64",
       make_file(R"({"a":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})", f32x2),
       "invalid shape"},
      {"fractional extent", make_file(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", f32x2),
       "invalid shape"},
      {"negative offset", make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", f32x2),
       "data_offsets [begin, end]"},
      {"huge offsets", make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,0]}})", f32x2),
       "out of range"},
      {"garbage after the JSON", make_file(R"({} xyz)", ""), "bad JSON"},
      {"duplicate tensor name",
       make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],)"
                 R"("data_offsets":[4,8]}})",
                 f32x2),
       "duplicate tensor name 'a'"},
      {"duplicate field", make_file(R"({"a":{"dtype":"F32","shape":[2],"dtype":"I32","data_offsets":[0,8]}})", f32x2),
       "tensor 'a' has a duplicate field 'dtype'"},
      {"duplicate metadata key", make_file(R"({"__metadata__":{"k":"1","k":"2"}})", ""),
       "duplicate __metadata__ key 'k'"},
      {"duplicate metadata object", make_file(R"({"__metadata__":{"k":"1"},"__metadata__":{}})", ""),
       "duplicate '__metadata__'"},
      {"BOOL byte 7", make_file(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", std::string("\x01\x07")),
       "tensor 'm' (BOOL) holds byte value 7 at file offset"},
      {"bad checksum",
       make_file(R"({"__metadata__":{"recgrad.checksum":"fnv1a64:0000000000000000"},)"
                 R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                 f32x2),
       "checksum mismatch: the file is corrupted (stored fnv1a64:0000000000000000, computed fnv1a64:"},
  };
  for (const Case& c : cases) {
    write_bytes(path("bad.safetensors"), c.bytes);
    const std::string message = message_of([&] { load_safetensors(path("bad.safetensors")); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.label << ": " << message;
    EXPECT_NE(message.find("bad.safetensors"), std::string::npos) << c.label << ": " << message;
  }
  EXPECT_NE(message_of([&] { load_safetensors(path("does_not_exist.safetensors")); }).find("cannot read file"),
            std::string::npos);
}

TEST_F(SafetensorsTest, EveryTruncationAndByteFlipFailsCleanly) {
  // Small, so that every byte can be tried quickly.
  const StateDict d{{"w", from_vector<float>({1, 2}, {2})}, {"m", from_vector<bool>({true}, {1})}};
  save_safetensors(path("good.safetensors"), d, {{"k", "v"}});
  const std::string good = read_bytes(path("good.safetensors"));
  // Every proper prefix is invalid: the tensors must tile the data block exactly.
  for (std::size_t length = 0; length < good.size(); ++length) {
    write_bytes(path("cut.safetensors"), good.substr(0, length));
    EXPECT_THROW(load_safetensors(path("cut.safetensors")), Error) << "prefix of " << length << " bytes";
  }
  // Any single changed byte is refused with a recgrad::Error, except inside the name of the checksum key, which
  // makes the file one without a checksum (data intact): that loads, but not under ChecksumPolicy::require.
  const std::size_t key_at = good.find(std::string("\"") + kSafetensorsChecksumKey + "\"") + 1;
  ASSERT_NE(key_at, std::string::npos + 1);
  for (const unsigned mask : {0x01u, 0x5au, 0x80u, 0xffu}) {
    for (std::size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      write_bytes(path("flip.safetensors"), bad);
      const bool in_key_name = i >= key_at && i < key_at + std::strlen(kSafetensorsChecksumKey);
      const std::string message = message_of([&] { load_safetensors(path("flip.safetensors")); });
      if (in_key_name) {
        EXPECT_THROW(read_safetensors(path("flip.safetensors"), ChecksumPolicy::require), Error) << i;
      } else {
        EXPECT_NE(message.find("flip.safetensors"), std::string::npos)
            << "byte " << i << " ^ " << mask << ": " << message;
      }
    }
  }
}

TEST_F(SafetensorsTest, ChecksumIsTheDocumentedFnv1aOfTheCanonicalForm) {
  // The value a Python script computes from the canonical form described in safetensors.h.
  const StateDict d{{"w", from_vector<float>({1, 2}, {2})}, {"m", from_vector<bool>({true, false, true}, {3})}};
  save_safetensors(path("known.safetensors"), d, {{"k", "v"}});
  EXPECT_EQ(read_safetensors(path("known.safetensors")).checksum, "fnv1a64:58300c061c0ae8e4");
}

TEST_F(SafetensorsTest, RoundTripKeepsTheChecksumValid) {
  const StateDict original = every_dtype();
  save_safetensors(path("a.safetensors"), original, {{"note", "x"}});
  const SafetensorsContents first = read_safetensors(path("a.safetensors"), ChecksumPolicy::require);
  EXPECT_FALSE(first.checksum.empty());
  EXPECT_FALSE(first.metadata.count(kSafetensorsChecksumKey)) << "the checksum is reported apart from the metadata";
  // Saving what was read writes the same bytes again: the checksum is a function of the contents only.
  save_safetensors(path("b.safetensors"), first.tensors, first.metadata);
  const SafetensorsContents second = read_safetensors(path("b.safetensors"), ChecksumPolicy::require);
  EXPECT_EQ(second.checksum, first.checksum);
  EXPECT_EQ(read_bytes(path("b.safetensors")), read_bytes(path("a.safetensors")));
  // The key is reserved.
  EXPECT_NE(message_of([&] {
              save_safetensors(path("c.safetensors"), original, {{kSafetensorsChecksumKey, "fnv1a64:0"}});
            }).find("reserved"),
            std::string::npos);
}

TEST_F(SafetensorsTest, AFlippedDataByteIsRefusedAsCorruption) {
  StateDict d;
  d.insert("w", randn({16, 8}));
  d.insert("m", from_vector<bool>({true, false}, {2}));
  save_safetensors(path("model.safetensors"), d);
  const std::string good = read_bytes(path("model.safetensors"));
  std::uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  // A byte in the middle of "w" (one bit, as a disk error would), and the BOOL true turned false.
  for (const std::size_t at : {static_cast<std::size_t>(8 + n + 200), good.size() - 2}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    write_bytes(path("model.safetensors"), bad);
    const std::string message = message_of([&] { load_safetensors(path("model.safetensors")); });
    EXPECT_NE(message.find("model.safetensors': checksum mismatch: the file is corrupted (stored fnv1a64:"),
              std::string::npos)
        << "byte " << at << ": " << message;
  }
}

TEST_F(SafetensorsTest, AChangedShapeDtypeOrOffsetInTheHeaderIsRefused) {
  StateDict d;
  d.insert("w", randn({2, 3}));
  d.insert("empty", zeros({0, 3}));
  d.insert("v", randn({4}));
  save_safetensors(path("h.safetensors"), d);
  const std::string good = read_bytes(path("h.safetensors"));
  std::uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);
  const std::string header = good.substr(8, n);
  auto refused_with = [&](std::size_t at, char replacement, const std::string& expected) {
    std::string bad = good;
    bad[8 + at] = replacement;
    write_bytes(path("h.safetensors"), bad);
    const std::string message = message_of([&] { load_safetensors(path("h.safetensors")); });
    EXPECT_NE(message.find("h.safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << "header byte " << at << ": " << message;
  };
  // Changes that keep the file well-formed are caught by the checksum alone.
  refused_with(header.find("[0,3]") + 3, '5', "checksum mismatch");    // the empty tensor's shape [0, 5]
  refused_with(header.find("\"F32\"") + 1, 'I', "checksum mismatch");  // w read as I32
  refused_with(header.find("\"w\"") + 1, 'x', "checksum mismatch");    // a renamed tensor
  // Every digit of every shape and offset, changed to another digit, is refused.
  for (const std::string field : {"\"shape\":[", "\"data_offsets\":["}) {
    for (std::size_t at = header.find(field); at != std::string::npos; at = header.find(field, at + 1)) {
      for (std::size_t i = at + field.size(); header[i] != ']'; ++i) {
        if (header[i] < '0' || header[i] > '9') continue;
        refused_with(i, header[i] == '9' ? '1' : static_cast<char>(header[i] + 1), "");
      }
    }
  }
}

TEST_F(SafetensorsTest, AFileWithoutChecksumLoadsUnlessOneIsRequired) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"x":"y"}})";
  const float values[2] = {1.5f, -2.0f};
  write_bytes(path("foreign.safetensors"), make_file(header, std::string(reinterpret_cast<const char*>(values), 8)));
  const SafetensorsContents c = read_safetensors(path("foreign.safetensors"));
  EXPECT_EQ(c.tensors.at("a").to_vector<float>(), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(c.checksum, "");
  const std::string message =
      message_of([&] { read_safetensors(path("foreign.safetensors"), ChecksumPolicy::require); });
  EXPECT_NE(message.find("foreign.safetensors': no checksum"), std::string::npos) << message;
}

TEST_F(SafetensorsTest, FailedSaveLeavesTheOldFileIntact) {
  const StateDict small{{"x", from_vector<float>({1, 2, 3}, {3})}};
  const std::string target = path("model.safetensors");
  save_safetensors(target, small);
  const std::string before = read_bytes(target);

  // The target directory is missing.
  EXPECT_NE(message_of([&] { save_safetensors(path("missing_dir/model.safetensors"), small); }).find("cannot create"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path("missing_dir")));

  // The target is a directory: the rename fails and the temporary file is removed.
  fs::create_directories(path("a_directory"));
  EXPECT_THROW(save_safetensors(path("a_directory"), small), Error);
  EXPECT_TRUE(fs::is_directory(path("a_directory")));

  // The disk "fills up" in the middle of the write (a file-size limit; works even as root).
  StateDict big;
  big.insert("big", zeros({1 << 16}));
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 4096;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const std::string message = message_of([&] { save_safetensors(target, big); });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find("cannot write"), std::string::npos) << message;
  EXPECT_EQ(read_bytes(target), before);

  // The unwritable directory case (only meaningful without root privileges).
  if (::geteuid() != 0) {
    fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_THROW(save_safetensors(target, big), Error);
    fs::permissions(dir_, fs::perms::owner_all);
    EXPECT_EQ(read_bytes(target), before);
  }

  // No temporary file is left behind by any of the failures.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST_F(SafetensorsTest, ModuleSaveAndLoadRoundTripBitExactly) {
  manual_seed(21);
  TinyModel saved;
  saved.save(path("tiny.safetensors"), {{"step", "12"}});
  manual_seed(22);
  TinyModel restored;
  ASSERT_FALSE(bit_equal(restored.state_dict().at("weight"), saved.state_dict().at("weight")));
  restored.load(path("tiny.safetensors"));
  for (const auto& [name, tensor] : saved.state_dict()) {
    EXPECT_TRUE(bit_equal(restored.state_dict().at(name), tensor)) << name;
  }
  EXPECT_EQ(read_safetensors(path("tiny.safetensors")).metadata.at("step"), "12");

  // A checkpoint of another model fails strictly, naming the tensors.
  StateDict other{{"weight", zeros({4, 3})}, {"proj", zeros({2})}};
  save_safetensors(path("other.safetensors"), other);
  const std::string message = message_of([&] { restored.load(path("other.safetensors")); });
  EXPECT_NE(message.find("missing keys: bias, steps"), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected keys: proj"), std::string::npos) << message;
}

TEST_F(SafetensorsTest, SaveRejectsBadInput) {
  EXPECT_NE(message_of([&] {
              save_safetensors(path("x.safetensors"), {{"w", Tensor()}});
            }).find("'w' is undefined"),
            std::string::npos);
  EXPECT_THROW(save_safetensors(path("x.safetensors"), {{"__metadata__", zeros({1})}}), Error);
  EXPECT_FALSE(fs::exists(path("x.safetensors")));
}

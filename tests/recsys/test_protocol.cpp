// --protocol muonrec, pinned down: for each model, every parameter with its shape and the optimizer settings it
// gets (optimizer, lr, weight decay, betas or momentum, eps), as one golden text
// (tests/recsys/golden/muonrec_protocol.txt); and the trainer settings the protocol fixes. A change to a model
// variant, the routing or an optimizer default shows up here as a diff.
//
// To rewrite the golden text after a deliberate change: RECGRAD_UPDATE_GOLDEN=1 build/tests/test_recsys
//   --gtest_filter='Protocol.*', then review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "recgrad.h"
#include "recsys/protocols.h"
#include "recsys/training_optimizer.h"
#include "recsys/zoo.h"
#include "test_support.h"

using namespace recgrad;
using namespace recgrad::recsys;
using recgrad::testing::expect_error;

namespace {

const std::string kGolden = std::string(RECGRAD_TEST_DATA_DIR) + "/../recsys/golden/muonrec_protocol.txt";

/// Every parameter of `model` with its shape, then each optimizer's full description (routing table and groups).
std::string protocol_table(const std::string& name) {
  std::ostringstream out;
  manual_seed(0);
  const auto model = find_model(protocol_model("muonrec", name)).make({100, 10, nullptr, nullptr}, {});
  out << "## " << name << ": " << model->describe() << "\n";
  for (const auto& [param, tensor] : model->named_parameters()) out << param << " " << tensor.shape() << "\n";
  for (const std::string optimizer : {"adamw", "muon"}) {
    out << "### " << optimizer << " -> " << protocol_optimizer("muonrec", optimizer) << "\n"
        << make_training_optimizer(protocol_optimizer("muonrec", optimizer), *model)->describe() << "\n";
  }
  return out.str();
}

}  // namespace

TEST(Protocol, MuonRecParametersAndOptimizerSettingsMatchTheGoldenTable) {
  std::string table;
  for (const std::string name : {"sasrec", "gru4rec", "caser"}) table += protocol_table(name);
  if (std::getenv("RECGRAD_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(kGolden) << table;
    GTEST_SKIP() << "rewrote " << kGolden;
  }
  std::ifstream in(kGolden);
  ASSERT_TRUE(in.good()) << "missing golden file " << kGolden;
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(table, golden.str()) << "the muonrec protocol's parameters or settings changed";
}

TEST(Protocol, MuonRecTrainerSettings) {
  const TrainerOptions options = protocol_trainer_options("muonrec", TrainerOptions{});
  EXPECT_EQ(options.batch_size, 1024);
  EXPECT_EQ(options.loss, LossKind::sampled_bce_pooled);
  EXPECT_EQ(options.negatives, 1);
  EXPECT_EQ(options.cosine_t_max, 500);
  EXPECT_EQ(options.cosine_eta_min, 1e-6);
  EXPECT_EQ(options.selection_k, 20);
  EXPECT_EQ(options.patience, 10);
  EXPECT_EQ(options.max_epochs, 500);
  EXPECT_EQ(options.extra_configuration.at("protocol"), "muonrec");
  const TrainerOptions plain = protocol_trainer_options("fixed", TrainerOptions{});
  EXPECT_EQ(plain.batch_size, TrainerOptions{}.batch_size);
  EXPECT_EQ(plain.extra_configuration.at("protocol"), "fixed");
}

TEST(Protocol, NamesOutsideTheProtocolAreRefused) {
  EXPECT_EQ(protocol_model("fixed", "sasrec"), "sasrec");
  EXPECT_EQ(protocol_model("muonrec", "gru4rec"), "gru4rec_muonrec");
  EXPECT_EQ(protocol_optimizer("muonrec", "muon"), "muon_muonrec");
  expect_error([] { (void)protocol_optimizer("muonrec", "lion"); }, {"muonrec", "adamw and muon", "'lion'"});
  expect_error([] { (void)protocol_model("tuned-ish", "sasrec"); }, {"unknown protocol", "fixed, muonrec, tuned"});
}

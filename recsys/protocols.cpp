#include "recsys/protocols.h"

#include "core/error.h"

namespace recgrad::recsys {
namespace {

void check_protocol(const std::string& protocol) {
  RG_CHECK(protocol == "fixed" || protocol == "muonrec" || protocol == "tuned", "unknown protocol '", protocol,
           "' (known: ", protocol_names(), ")");
}

}  // namespace

std::string protocol_names() { return "fixed, muonrec, tuned"; }

std::string protocol_model(const std::string& protocol, const std::string& name) {
  check_protocol(protocol);
  if (protocol != "muonrec" || name.ends_with("_muonrec")) return name;
  RG_CHECK(name == "sasrec" || name == "gru4rec" || name == "caser", "protocol muonrec has no variant of model '", name,
           "' (it runs sasrec, gru4rec and caser as MuonRec's code has them)");
  return name + "_muonrec";
}

std::string protocol_optimizer(const std::string& protocol, const std::string& name) {
  check_protocol(protocol);
  if (protocol != "muonrec" || name.ends_with("_muonrec")) return name;
  RG_CHECK(name == "adamw" || name == "muon", "protocol muonrec compares adamw and muon, not '", name, "'");
  return name + "_muonrec";
}

TrainerOptions protocol_trainer_options(const std::string& protocol, TrainerOptions options) {
  check_protocol(protocol);
  if (protocol == "muonrec") {
    options.batch_size = 1024;
    options.loss = LossKind::sampled_bce_pooled;
    options.negatives = 1;
    options.cosine_t_max = 500;
    options.cosine_eta_min = 1e-6;
    options.selection_k = 20;
    options.patience = 10;
    options.max_epochs = 500;
  }
  options.extra_configuration["protocol"] = protocol;
  return options;
}

}  // namespace recgrad::recsys

#include "recsys/zoo.h"

#include "recsys/generative/minionerec.h"
#include "recsys/generative/tiger.h"
#include "recsys/sequential/caser.h"
#include "recsys/sequential/caser_muonrec.h"
#include "recsys/sequential/gru4rec.h"
#include "recsys/sequential/gru4rec_muonrec.h"
#include "recsys/sequential/sasrec.h"
#include "recsys/sequential/sasrec_muonrec.h"

namespace recgrad::recsys {

const std::vector<ModelEntry>& model_zoo() {
  static const std::vector<ModelEntry> zoo = {
      zoo_entry<SASRec>(),         zoo_entry<GRU4Rec>(),       zoo_entry<Caser>(), zoo_entry<SASRecMuonRec>(),
      zoo_entry<GRU4RecMuonRec>(), zoo_entry<CaserMuonRec>(),  zoo_entry<Tiger>(), zoo_entry<TigerPaper>(),
      zoo_entry<MiniOneRec>(),     zoo_entry<MiniOneRecGpu>(),
  };
  return zoo;
}

const ModelEntry& find_model(std::string_view name) {
  for (const ModelEntry& entry : model_zoo()) {
    if (entry.name == name) return entry;
  }
  throw Error(recgrad::detail::concat("unknown model '", name, "' (known: ", model_names(), ")"));
}

std::string model_names() {
  std::string names;
  for (const ModelEntry& entry : model_zoo()) names += (names.empty() ? "" : ", ") + entry.name;
  return names;
}

}  // namespace recgrad::recsys
